"""The dashboard statement is built once and bound per request: its subtree pattern must be the scope filter's."""

from __future__ import annotations

from sqlalchemy import literal_column

from dispatch_svc.figures.service import subtree_pattern
from shared.scope import in_subtree


def test_the_figures_subtree_pattern_is_the_one_the_scope_filter_binds():
    for path in ("/01A/01B/", "/a_b/", "/50%/", "/x!y/"):
        condition = in_subtree(literal_column("path"), path)
        assert subtree_pattern(path) == condition.right.value
        assert condition.modifiers["escape"] == "!"
