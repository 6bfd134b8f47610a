"""Grid scope: a caller sees what lies under their scope unit, by materialised path prefix.

A path lists unit ids from the root to the unit, each followed by '/': `/county/town/village/`.
Every unit under X has X's path as prefix, so a subtree is one indexed range scan.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, bindparam, false, true
from sqlalchemy.orm import InstrumentedAttribute

from shared.identity import Identity

_ESCAPE = "!"


def child_path(parent_path: str | None, unit_id: str) -> str:
    """The path of `unit_id` under a parent (or at the root)."""
    return f"{parent_path or '/'}{unit_id}/"


def in_subtree(path_column: InstrumentedAttribute | ColumnElement, scope_path: str) -> ColumnElement[bool]:
    """SQL condition: the row's path lies in the subtree rooted at `scope_path` (inclusive), as an index range.

    The whole LIKE pattern is one bound parameter: SQLite applies its LIKE optimisation only to
    a plain parameter (not to `:prefix || '%'`), PostgreSQL uses its text_pattern_ops index.
    """
    escaped = scope_path.replace(_ESCAPE, _ESCAPE * 2).replace("%", f"{_ESCAPE}%").replace("_", f"{_ESCAPE}_")
    return path_column.like(bindparam(None, escaped + "%", unique=True), escape=_ESCAPE)


def scope_condition(
    path_column: InstrumentedAttribute | ColumnElement, identity: Identity, scope_path: str | None
) -> ColumnElement[bool]:
    """Restrict a query to the caller's subtree; nothing at all when their scope is unknown here."""
    if identity.unrestricted:
        return true()
    if scope_path is None:
        return false()
    return in_subtree(path_column, scope_path)


def path_in_scope(path: str | None, identity: Identity, scope_path: str | None) -> bool:
    """Python twin of `scope_condition` for one loaded record."""
    if identity.unrestricted:
        return True
    return path is not None and scope_path is not None and path.startswith(scope_path)
