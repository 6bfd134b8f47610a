"""The figures statement is built once per shape of period and bound per request."""

from __future__ import annotations

from legal_svc.figures.service import figures_query


def test_each_shape_of_period_has_its_own_statement_and_binds_only_its_ends():
    shapes = {(open_start, open_end): figures_query(open_start, open_end) for open_start in (True, False) for open_end in (True, False)}
    assert figures_query(False, False) is shapes[(False, False)]  # built once
    for (open_start, open_end), statement in shapes.items():
        names = set(statement.compile().params)
        assert "subtree" in names
        assert ("start" in names) is not open_start and ("end" in names) is not open_end
