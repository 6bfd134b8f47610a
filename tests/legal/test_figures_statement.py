"""The figures statement is built once per shape of period and place, and bound per request."""

from __future__ import annotations

import pytest

from legal_svc.figures.service import figures_query, place_of


def test_each_shape_of_period_has_its_own_statement_and_binds_only_its_ends():
    shapes = {(open_start, open_end): figures_query(open_start, open_end, "town") for open_start in (True, False) for open_end in (True, False)}
    assert figures_query(False, False, "town") is shapes[(False, False)]  # built once
    for (open_start, open_end), statement in shapes.items():
        names = set(statement.compile().params)
        assert ("start" in names) is not open_start and ("end" in names) is not open_end


@pytest.mark.parametrize(
    ("path", "place", "binds"),
    [
        ("/C/", "county", {"subtree"}),
        ("/C/T/", "town", {"town_unit_id"}),
        ("/C/T/V/", "in_town", {"town_unit_id", "subtree"}),
        ("/C/T/V/G/M/", "in_town", {"town_unit_id", "subtree"}),
    ],
)
def test_a_town_is_read_by_its_town_a_unit_in_one_by_town_and_units_and_a_county_by_units(path, place, binds):
    found, params = place_of(path)
    assert found == place
    assert params == ({"town_unit_id": "T"} if place != "county" else {})
    names = set(figures_query(True, True, found).compile().params)
    assert names & {"town_unit_id", "subtree"} == binds
