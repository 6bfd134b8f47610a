"""The ledger history of county and prefecture sizes: as many entries as asked, within the daily rule's cap,
before the demo's months, never before a member joined; none at the town size."""

from __future__ import annotations

from collections import Counter
from datetime import date

from bench.sizes import SIZES, describe
from demo.town import HISTORY_PER_MONTH, Sizes, build_town, ledger_history

TODAY = date(2026, 11, 27)


def test_history_has_the_asked_entries_spread_within_the_cap_before_the_demo_months():
    plan = build_town(0, Sizes(households_per_micro_grid=1), TODAY, set())
    deeds = ledger_history(plan, 66_667)
    assert len(deeds) == 66_667
    per_member_month = Counter((id(d.member), d.day.strftime("%Y-%m")) for d in deeds)
    assert max(per_member_month.values()) <= HISTORY_PER_MONTH
    assert max(per_member_month.values()) - min(per_member_month.values()) <= 1
    assert all(d.day < plan.since for d in deeds)
    assert all(d.day.replace(day=1) >= d.member.joined_on for d in deeds)
    assert {id(d.member) for d in deeds} == {id(m) for m in plan.members if m.joined_on <= plan.since.replace(day=1)}
    assert ledger_history(plan, 66_667) == deeds


def test_town_size_has_no_history_and_the_large_sizes_name_theirs():
    plan = build_town(0, SIZES["town"], TODAY, set())
    assert ledger_history(plan, SIZES["town"].ledger_entries) == []
    assert "history_ledger_entries" not in describe(SIZES["town"])
    assert describe(SIZES["county"])["history_ledger_entries"] == 1_000_000
    assert describe(SIZES["prefecture"])["history_ledger_entries"] == 10_000_000
    # A load stopped after 40 of the prefecture's 150 towns: their households and their share of the ledger.
    assert describe(SIZES["prefecture"], towns=40) == {
        "towns": 40, "villages": 560, "micro_grids": 17_240, "households": 258_600, "history_ledger_entries": 2_666_680
    }
