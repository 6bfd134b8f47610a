"""Subtree conditions on materialised paths that SQLite and PostgreSQL both answer with an index range.

`shared.scope.in_subtree` renders `path LIKE :prefix || '%'`: PostgreSQL folds the concatenation,
but SQLite's LIKE optimisation only applies to a plain literal or parameter, so it scans. Here the
whole pattern is one bound parameter (ids never hold the escape character or wildcards, but they
are escaped anyway).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, bindparam, false, true
from sqlalchemy.orm import InstrumentedAttribute

from shared.identity import Identity
from shared.scope import child_path, path_in_scope

__all__ = ["child_path", "in_subtree", "path_in_scope", "scope_condition"]

_ESCAPE = "!"


def _prefix_pattern(path: str) -> str:
    escaped = path.replace(_ESCAPE, _ESCAPE * 2).replace("%", f"{_ESCAPE}%").replace("_", f"{_ESCAPE}_")
    return escaped + "%"


def in_subtree(path_column: InstrumentedAttribute | ColumnElement, path: str) -> ColumnElement[bool]:
    """SQL condition: the row's path lies in the subtree rooted at `path` (inclusive), as an index range."""
    return path_column.like(bindparam(None, _prefix_pattern(path), unique=True), escape=_ESCAPE)


def scope_condition(path_column: InstrumentedAttribute | ColumnElement, identity: Identity, scope_path: str | None) -> ColumnElement[bool]:
    """Restrict a query to the caller's subtree; nothing at all when their scope is unknown here."""
    if identity.unrestricted:
        return true()
    if scope_path is None:
        return false()
    return in_subtree(path_column, scope_path)
