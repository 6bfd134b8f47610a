"""Records belong to grid units: scope and subtree filters against legal-svc's grid replica.

Records store their `unit_id`; scope is checked by joining the replica, so a unit moved in grid-svc
moves its legal records with it. (The tables a town's figures read also keep the unit's town:
`legal_svc.towns`.)
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.db import grid
from shared.grid_replica import GridUnit
from shared.identity import Identity
from shared.problems import not_found, unprocessable
from shared.scope import in_subtree, path_in_scope, scope_condition

units_table = grid.table

T = TypeVar("T")


async def unit_for_write(session: AsyncSession, identity: Identity, unit_id: str, *, field: str = "unit_id") -> GridUnit:
    """A unit in the caller's scope that records may be attributed to (404 outside scope, 422 if retired)."""
    unit = await grid.get_in_scope(session, identity, unit_id)
    if unit.retired_at is not None:
        raise unprocessable(f"unit {unit.name} is retired", loc=["body", field])
    return unit


async def record_in_scope(session: AsyncSession, identity: Identity, unit_id: str, what: str) -> GridUnit:
    """The unit of a loaded record, or 404 (named after the record) when it lies outside scope."""
    unit = await grid.get(session, unit_id)
    if unit is None or not path_in_scope(unit.path, identity, await grid.scope_path(session, identity)):
        raise not_found(what)
    return unit


def with_unit_scope(table: Table) -> Select:
    """Every column of a record `table` (with `unit_id`), its unit's `unit_path` and the caller's `scope_path`,
    for one-round-trip reads with `shared.scope.fetch_in_scope` (bind `record_id`)."""
    return (
        select(table, units_table.c.path.label("unit_path"), grid.scope_path_column())
        .join(units_table, units_table.c.id == table.c.unit_id)
        .where(table.c.id == bindparam("record_id"))
    )


async def load_in_scope(session: AsyncSession, identity: Identity, model: type[T], record_id: str, what: str) -> T:
    """A stored record whose unit lies in the caller's scope; 404 (named after the record) otherwise."""
    record = await session.get(model, record_id)
    if record is None:
        raise not_found(what)
    await record_in_scope(session, identity, record.unit_id, what)
    return record


async def scoped(
    session: AsyncSession, statement: Select, unit_column: ColumnElement, identity: Identity, under: str | None
) -> Select:
    """Restrict `statement` to records whose unit lies in the caller's scope (and under `under`)."""
    statement = statement.join(units_table, units_table.c.id == unit_column).where(
        scope_condition(units_table.c.path, identity, await grid.scope_path(session, identity))
    )
    if under is not None:
        parent = await grid.get_in_scope(session, identity, under)
        statement = statement.where(in_subtree(units_table.c.path, parent.path))
    return statement


async def subtree_path(session: AsyncSession, identity: Identity, unit_id: str) -> str:
    """Path of a unit in scope, for subtree aggregates."""
    return (await grid.get_in_scope(session, identity, unit_id)).path


def units_under(path: str) -> Select:
    """Ids of every unit in the subtree at `path` (inclusive)."""
    return select(units_table.c.id).where(in_subtree(units_table.c.path, path))


def check_period(start: date | None, end: date | None) -> None:
    """422 when a period ends before it starts."""
    if start is not None and end is not None and end < start:
        raise unprocessable("`to` is before `from`", loc=["query", "to"])
