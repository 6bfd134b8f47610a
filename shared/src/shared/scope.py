"""Grid scope: a caller sees what lies under their scope unit, by materialised path prefix.

A path lists unit ids from the root to the unit, each followed by '/': `/county/town/village/`.
Every unit under X has X's path as prefix, so a subtree is one indexed range scan.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import (
    BindParameter,
    Boolean,
    Column,
    ColumnElement,
    Label,
    Row,
    String,
    bindparam,
    false,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Executable, coercions, roles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from shared.database import Database
from shared.identity import Identity
from shared.problems import not_found

LIKE_ESCAPE = "!"  # the escape character of every LIKE pattern built here


def child_path(parent_path: str | None, unit_id: str) -> str:
    """The path of `unit_id` under a parent (or at the root)."""
    return f"{parent_path or '/'}{unit_id}/"


def path_ids(path: str) -> list[str]:
    """The unit ids of a path, root first."""
    return [part for part in path.split("/") if part]


def town_of(path: str) -> str | None:
    """The town a unit lies in (None for a county): the tree starts at a county, so a path's second id is its town."""
    ids = path_ids(path)
    return ids[1] if len(ids) >= 2 else None


# A path no unit has (paths start with one '/'): the subtree a caller with an unknown scope unit may list.
NOWHERE = "//"

# How a list covers a subtree: a town's by the town's id, kept on the rows of tables read by town; any other
# by its path; None: everywhere.
Place = Literal["town", "subtree"] | None


def list_place(subtree: str | None) -> tuple[Place, dict[str, str]]:
    """The place of a list of the subtree at `subtree` (see `list_subtree`) and its binds: `town_unit_id` for
    a town, `subtree` (the path) for any other unit, none for everywhere."""
    if subtree is None:
        return None, {}
    ids = path_ids(subtree)
    if len(ids) == 2:
        return "town", {"town_unit_id": ids[1]}
    return "subtree", {"subtree": subtree}


def _escaped(text: str) -> str:
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", f"{LIKE_ESCAPE}%").replace("_", f"{LIKE_ESCAPE}_")


def contains_pattern(text: str) -> str:
    """The LIKE pattern of values containing `text` literally (use with `escape=LIKE_ESCAPE`)."""
    return f"%{_escaped(text)}%"


_MAX_CODE_POINT = 0x10FFFF  # no character's UTF-8 bytes sort after it, so no path under a root reaches root + it


class _InSubtree(ColumnElement[bool]):
    """`path` starts with `root`: the byte range [root, root + U+10FFFF).

    A range, not `LIKE :pattern`: PostgreSQL derives an index range from LIKE only when it sees the
    pattern while planning, and a prepared statement run more than five times on a connection gets a
    generic plan that does not (at county size, the subtree counts then filtered a whole level's index
    entries instead of reading one subtree's range). Both bounds are expressions of the one bound root,
    so a generic plan keeps the range.
    """

    type = Boolean()
    _is_implicitly_boolean = True  # a condition already: never rendered as `(...) = 1` where booleans are integers
    inherit_cache = True
    _traverse_internals = [("path", InternalTraversal.dp_clauseelement), ("root", InternalTraversal.dp_clauseelement)]

    def __init__(self, path: ColumnElement, root: BindParameter) -> None:
        self.path = coercions.expect(roles.ExpressionElementRole, path)
        self.root = root


@compiles(_InSubtree)
def _in_subtree_bytewise(element: _InSubtree, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's default BINARY collation compares bytes, so its plain operators give the byte range.
    path, root = compiler.process(element.path, **kw), compiler.process(element.root, **kw)
    return f"({path} >= {root} AND {path} < ({root} || char({_MAX_CODE_POINT})))"


@compiles(_InSubtree, "postgresql")
def _in_subtree_pattern_ops(element: _InSubtree, compiler: SQLCompiler, **kw: Any) -> str:
    # text_pattern_ops' operators (the path indexes' class) compare bytes whatever the column's collation.
    path, root = compiler.process(element.path, **kw), compiler.process(element.root, **kw)
    return f"({path} ~>=~ {root} AND {path} ~<~ ({root} || chr({_MAX_CODE_POINT})))"


def in_subtree(path_column: InstrumentedAttribute | ColumnElement, scope_path: str) -> ColumnElement[bool]:
    """SQL condition: the row's path lies in the subtree rooted at `scope_path` (inclusive), as an index range."""
    return _InSubtree(path_column, bindparam(None, scope_path, type_=String(), unique=True))


def rebased(path_column: InstrumentedAttribute | ColumnElement, old_root: str, new_root: str) -> ColumnElement[str]:
    """A path of the subtree at `old_root` (`path_column`, in `in_subtree(path_column, old_root)`) as it reads once
    that subtree has moved to `new_root`."""
    return literal(new_root) + func.substr(path_column, len(old_root) + 1)


async def rebase_subtree(session: AsyncSession, old_root: str, new_root: str, *path_columns: Column) -> None:
    """Move the rows under `old_root` of each table of `path_columns` (a path column each) to `new_root`: a moved
    subtree's copies of its paths, one UPDATE a table."""
    for column in path_columns:
        await session.execute(
            update(column.table).where(in_subtree(column, old_root)).values({column.name: rebased(column, old_root, new_root)})
        )


def in_named_subtree(path_column: InstrumentedAttribute | ColumnElement, name: str = "subtree") -> ColumnElement[bool]:
    """`in_subtree` with the root's path left to a named parameter (bind the path itself), for statements
    built once and executed many times."""
    return _InSubtree(path_column, bindparam(name, type_=String()))


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


def caller_scope_path(units_id: ColumnElement, units_path: ColumnElement) -> Label:
    """A column `scope_path` holding the path of the caller's scope unit (bind `scope_unit_id`), so a read
    checks scope in the same round trip that loads the record (see `fetch_in_scope`)."""
    return select(units_path).where(units_id == bindparam("scope_unit_id")).scalar_subquery().label("scope_path")


async def fetch_in_scope(
    db: Database, statement: Executable, identity: Identity, *, path: str, record: str, **params: Any
) -> Row:
    """The one row of `statement` (which selects `caller_scope_path`) whose `path` column lies in the caller's
    scope; 404 naming `record` when there is none or it lies outside."""
    row = await db.fetch_one(statement, {**params, "scope_unit_id": identity.scope_unit_id})
    if row is None or not path_in_scope(getattr(row, path), identity, row.scope_path):
        raise not_found(record)
    return row


async def list_subtree(db: Database, unit_in_scope: Executable, identity: Identity, under: str | None) -> str | None:
    """The path whose subtree a scoped list covers, or None when the list is not restricted.

    With `under`: that unit's path (404 when it is missing or outside the caller's scope), which lies
    inside the caller's scope, so one path condition serves both. Without: the caller's scope path
    (None for unrestricted callers; `NOWHERE` when their scope unit is unknown here).
    `unit_in_scope` selects a unit (bind `unit_id`) with `caller_scope_path`.
    """
    if under is not None:
        return (await fetch_in_scope(db, unit_in_scope, identity, path="path", record="unit", unit_id=under)).path
    if identity.unrestricted:
        return None
    row = await db.fetch_one(unit_in_scope, {"unit_id": identity.scope_unit_id, "scope_unit_id": identity.scope_unit_id})
    return row.path if row is not None else NOWHERE
