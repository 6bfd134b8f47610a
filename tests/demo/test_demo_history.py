"""The generator's large-size path on a small town: the earlier months' ledger goes in through points-svc's
batch endpoint (as at county and prefecture size), every entry under its rules, and the chains hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo import accounts
from demo.client import login
from demo.load import Loader, LoadOptions, LoadResult
from demo.town import Sizes
from devstack.stack import ProcessStack

# Two villages are the fewest the demo's trainings need; 3,000 entries make two batches in the busiest branch.
SIZES = Sizes(villages=2, grids=3, small_grids=6, micro_grids=12, households_per_micro_grid=2, ledger_entries=3_000)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> tuple[ProcessStack, LoadResult]:
    stack = ProcessStack(var=Path(tmp_path_factory.mktemp("demo-history")))
    try:
        stack.start()
        options = LoadOptions(gateway=stack.services["gateway"].url, sizes=SIZES, key_file=stack.var / "demo-county-key")
        loader = Loader(options, log=print)
        try:
            yield stack, loader.run()
        finally:
            loader.close()
    finally:
        stack.stop()


def test_the_earlier_months_hold_the_asked_entries_and_the_ledger_verifies(loaded):
    stack, result = loaded
    town = result.towns[0]
    assert town.counts["history_entries"] == 3_000
    assert result.phases["ledger_history"]["count"] == 3_000 and result.phases["registry"]["count"] == 24
    auditor = login(stack.services["gateway"].url, "yuwang.auditor", accounts.DEMO_PASSWORD)
    try:
        daily = auditor.get("/api/v1/points/rules", town_unit_id=town.unit_id, per_page=50)["items"]
        rule = next(r for r in daily if r["code"] == "DAILY")
        history = [e for e in auditor.pages("/api/v1/points/entries", under=town.unit_id) if e["rule_id"] == rule["id"]]
        assert len(history) == 3_000
        assert all(e["period"] < result.months[0] and e["original_period"] is None for e in history)
        per_member_month: dict[tuple[str, str], int] = {}
        for entry in history:
            key = (entry["member_id"], entry["period"])
            per_member_month[key] = per_member_month.get(key, 0) + entry["points"]
        assert max(per_member_month.values()) <= rule["monthly_cap"]
        assert auditor.get("/api/v1/points/ledger/verify")["ok"] is True
    finally:
        auditor.close()
