"""The demo town's plan: the report's shape, deterministic per seed, no duplicate people."""

from __future__ import annotations

from collections import Counter
from datetime import date

from demo.town import Sizes, build_town, month_starts

TODAY = date(2026, 11, 27)


def _plan(**sizes):
    return build_town(0, Sizes(**sizes), TODAY, set())


def test_the_report_shape_holds_at_every_household_density():
    for density in (1, 3):
        plan = _plan(households_per_micro_grid=density)
        levels = Counter(u.level for u in plan.units)
        assert (plan.name, levels["village"], levels["grid"], levels["small_grid"], levels["micro_grid"]) == (
            "禹王镇",
            14,
            41,
            139,
            431,
        )
        assert len(plan.households) == 431 * density
        assert [v.name for v in plan.villages[:2]] == ["司马村", "史庄村"]


def test_same_seed_same_town_other_seed_other_people():
    first, again, other = _plan(seed=7), _plan(seed=7), _plan(seed=8)
    assert first == again
    assert [h.people[0].name for h in first.households] != [h.people[0].name for h in other.households]


def test_people_are_unique_and_valid():
    plan = _plan()
    numbers = [p.id_number for h in plan.households for p in h.people] + [m.person.id_number for m in plan.cadre_members]
    assert len(numbers) == len(set(numbers))
    for household in plan.households:
        assert household.people[0].relation == "head"
        assert len({p.name for p in household.people}) == len(household.people)
    for person in (p for h in plan.households for p in h.people):
        # 17th digit: odd for men, even for women; the birth date is the card's.
        assert int(person.id_number[16]) % 2 == (1 if person.gender == "male" else 0)
        assert person.id_number[6:14] == person.birth_date.strftime("%Y%m%d")


def test_teams_and_cadres_meet_the_rules():
    plan = _plan(households_per_micro_grid=1)
    for village in plan.villages:
        for grid in village.grids:
            assert {"grid_leader", "grid_worker", "grid_assistant"} <= {r.role for r in grid.roles}
        kinds = Counter(link.kind for link in village.cadre_liaisons)
        assert kinds["cadre_grid"] == len(village.grids) >= 1
        assert kinds["cadre_household"] >= 10
    covered = {link.household_code for v in plan.villages for g in v.grids for link in g.liaisons}
    assert covered == {h.code for h in plan.households}


def test_towns_after_the_first_are_the_county_others():
    used: set[str] = set()
    towns = [
        build_town(i, Sizes(villages=2, grids=2, small_grids=2, micro_grids=2, households_per_micro_grid=1), TODAY, used)
        for i in range(3)
    ]
    assert [t.name for t in towns] == ["禹王镇", "瑶峰镇", "庙前镇"]
    assert len({h.code for t in towns for h in t.households}) == sum(len(t.households) for t in towns)


def test_deeds_span_four_months_ending_this_one():
    assert month_starts(TODAY) == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    assert month_starts(date(2027, 1, 5))[0] == date(2026, 10, 1)
