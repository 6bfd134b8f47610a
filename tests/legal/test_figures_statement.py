"""The figures statement is built once and bound per request: its subtree pattern must be the scope filter's."""

from __future__ import annotations

from sqlalchemy import literal_column

from legal_svc.figures.service import figures_query, subtree_pattern
from shared.scope import in_subtree


def test_the_figures_subtree_pattern_is_the_one_the_scope_filter_binds():
    for path in ("/01A/01B/", "/a_b/", "/50%/", "/x!y/"):
        condition = in_subtree(literal_column("path"), path)
        assert subtree_pattern(path) == condition.right.value
        assert condition.modifiers["escape"] == "!"


def test_each_shape_of_period_has_its_own_statement_and_binds_only_its_ends():
    shapes = {(open_start, open_end): figures_query(open_start, open_end) for open_start in (True, False) for open_end in (True, False)}
    assert figures_query(False, False) is shapes[(False, False)]  # built once
    for (open_start, open_end), statement in shapes.items():
        names = set(statement.compile().params)
        assert "subtree" in names
        assert ("start" in names) is not open_start and ("end" in names) is not open_end
