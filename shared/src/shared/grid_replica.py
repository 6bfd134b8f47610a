"""A local copy of the grid tree, kept from grid-svc's events by every service that needs it.

Points, dispatch and legal attribute their records to units and enforce scope by path prefix,
so each keeps this read model in its own database: the same table, the same handlers, the
same read endpoints. It converges whatever the order of events across units.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Index, Label, MetaData, String, Table, bindparam, case, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from shared.database import Database, once_per_read
from shared.events.base import DomainEvent
from shared.events.envelope import Envelope
from shared.events.grid import UnitCreated, UnitMoved, UnitRenamed, UnitRetired
from shared.identity import CurrentIdentity, Identity
from shared.inbox import Handler, RunHandler
from shared.pagination import Page, PageDep
from shared.problems import not_found
from shared.routing import api_router
from shared.scope import caller_scope_path, in_subtree, list_subtree, path_in_scope, rebased, scope_condition
from shared.service import DatabaseDep


def grid_units_table(metadata: MetaData) -> Table:
    """The replica table in a service's metadata."""
    return Table(
        "grid_units",
        metadata,
        Column("id", String(26), primary_key=True),
        Column("code", String(32), nullable=False),
        Column("full_code", String(300), nullable=False),
        Column("name", String(100), nullable=False),
        Column("level", String(16), nullable=False),
        Column("parent_id", String(26)),
        Column("path", String(400), nullable=False),
        Column("retired_at", DateTime(timezone=True)),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Index("ix_grid_units_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )


class GridUnit(BaseModel):
    """A unit as a consuming service knows it."""

    id: str
    code: str
    full_code: str
    name: str
    level: str
    parent_id: str | None
    path: str
    retired_at: datetime | None


# The fields of a unit-created event a replay writes again (not `retired_at`: a replay does not undo a retirement).
_CREATED_FIELDS = ("code", "full_code", "name", "level", "parent_id", "path", "updated_at")


def _unit_created_statement(table: Table, insert: type[Insert]) -> Insert:
    """Insert-or-update of a created unit in one statement (one round trip per event), for one dialect.

    Under a parent this replica knows, the path is the parent's path here plus the unit: the event's
    path may predate a move of the parent that this replica has already applied. Otherwise (a root, or
    a parent whose event has not arrived yet) it is the path the event carries. Parameters are named
    `event_*` (a name equal to a column's is reserved for the VALUES clause).
    """
    parent = table.alias("parent")
    unit_id = bindparam("event_unit_id", type_=String)
    parent_id = bindparam("event_parent_id", type_=String)
    parent_path = select(parent.c.path).where(parent.c.id == parent_id).scalar_subquery()
    statement = insert(table).values(
        id=unit_id,
        code=bindparam("event_code", type_=String),
        full_code=bindparam("event_full_code", type_=String),
        name=bindparam("event_name", type_=String),
        level=bindparam("event_level", type_=String),
        parent_id=parent_id,
        # NULL (no such parent here) || anything is NULL on both databases, so the event's path is taken.
        path=func.coalesce(parent_path + unit_id + literal("/", String), bindparam("event_path", type_=String)),
        updated_at=bindparam("event_updated_at", type_=table.c.updated_at.type),
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.id], set_={name: statement.excluded[name] for name in _CREATED_FIELDS}
    )


class GridReplica:
    """Applies grid events to the replica table and answers scope questions from it."""

    def __init__(self, table: Table) -> None:
        self.table = table
        # A unit (bind `unit_id`) with the caller's scope path, for one-round-trip scope checks.
        self.unit_in_scope = select(table, caller_scope_path(table.c.id, table.c.path)).where(table.c.id == bindparam("unit_id"))
        # Built once: each event only binds its values, and SQLAlchemy finds the compiled form in its cache.
        self._created = {
            "postgresql": _unit_created_statement(table, postgresql.insert),
            "sqlite": _unit_created_statement(table, sqlite.insert),
        }
        # One handler object per event type: a consumer hands a run of creates to the same RunHandler together.
        self._handlers: dict[type[DomainEvent], Handler] = {
            UnitCreated: RunHandler(self.on_unit_created, self.on_units_created),
            UnitRenamed: self.on_unit_renamed,
            UnitMoved: self.on_unit_moved,
            UnitRetired: self.on_unit_retired,
        }

    @property
    def handlers(self) -> dict[type[DomainEvent], Handler]:
        """Event type → handler, for the service's consumer routing table."""
        return dict(self._handlers)

    async def on_unit_created(self, session: AsyncSession, event: UnitCreated, _: Envelope) -> None:
        """Insert the unit, or write its fields again on a replay; under a known parent its path follows the
        parent's current path here. One statement on either database."""
        await self.on_units_created(session, [event])

    async def on_units_created(self, session: AsyncSession, events: list[UnitCreated]) -> None:
        """`on_unit_created` for each event, in order, as one execution of the statement for all of them: the
        driver runs it once per event (a parent created earlier in the list is known to the later ones), in one
        round trip on PostgreSQL."""
        now = datetime.now(UTC)
        await session.execute(
            self._created[session.get_bind().dialect.name],
            [
                {
                    "event_unit_id": event.unit_id,
                    "event_code": event.code,
                    "event_full_code": event.full_code,
                    "event_name": event.name,
                    "event_level": event.level,
                    "event_parent_id": event.parent_id,
                    "event_path": event.path,
                    "event_updated_at": now,
                }
                for event in events
            ],
        )

    async def on_unit_renamed(self, session: AsyncSession, event: UnitRenamed, _: Envelope) -> None:
        """Take the new name."""
        t = self.table
        await session.execute(update(t).where(t.c.id == event.unit_id).values(name=event.name, updated_at=datetime.now(UTC)))

    async def on_unit_moved(self, session: AsyncSession, event: UnitMoved, _: Envelope) -> None:
        """Rewrite the paths (and codes) of the unit's whole subtree, and the unit's parent, in one statement."""
        t = self.table
        current = (await session.execute(select(t.c.path, t.c.full_code).where(t.c.id == event.unit_id))).first()
        if current is None:
            return  # created event still on its way; it will carry the parent's current path
        old_path, old_full_code = current
        await session.execute(
            update(t)
            .where(in_subtree(t.c.path, old_path))
            .values(
                path=rebased(t.c.path, old_path, event.path),
                full_code=rebased(t.c.full_code, old_full_code, event.full_code),
                updated_at=datetime.now(UTC),
                # The new parent is the moved unit's alone; its descendants keep theirs.
                parent_id=case((t.c.id == event.unit_id, literal(event.parent_id, String)), else_=t.c.parent_id),
            )
        )

    async def on_unit_retired(self, session: AsyncSession, event: UnitRetired, _: Envelope) -> None:
        """Mark the unit retired."""
        t = self.table
        await session.execute(update(t).where(t.c.id == event.unit_id).values(retired_at=event.retired_at, updated_at=datetime.now(UTC)))

    async def scope_path(self, session: AsyncSession, identity: Identity) -> str | None:
        """Path of the caller's scope unit here (None when unrestricted or not yet known)."""
        if identity.unrestricted or identity.scope_unit_id is None:
            return None
        statement = select(self.table.c.path).where(self.table.c.id == identity.scope_unit_id)
        return await once_per_read(session, ("scope_path", identity.scope_unit_id), lambda: session.scalar(statement))

    def scope_path_column(self) -> Label:
        """The caller's scope path as a column of a one-round-trip read (see `shared.scope.fetch_in_scope`)."""
        return caller_scope_path(self.table.c.id, self.table.c.path)

    async def get(self, session: AsyncSession, unit_id: str) -> GridUnit | None:
        """One unit of the replica, or None."""
        row = (await session.execute(select(self.table).where(self.table.c.id == unit_id))).mappings().first()
        return GridUnit.model_validate(dict(row)) if row else None

    async def get_in_scope(self, session: AsyncSession, identity: Identity, unit_id: str) -> GridUnit:
        """One unit inside the caller's scope, else 404."""
        unit = await self.get(session, unit_id)
        if unit is None or not path_in_scope(unit.path, identity, await self.scope_path(session, identity)):
            raise not_found("unit")
        return unit

    async def list_subtree(self, db: Database, identity: Identity, under: str | None) -> str | None:
        """The path whose subtree a scoped list covers (see `shared.scope.list_subtree`), from the replica."""
        return await list_subtree(db, self.unit_in_scope, identity, under)

    def router(self, domain: str) -> APIRouter:
        """Read endpoints over the replica at `/api/v1/<domain>/units`."""
        router = api_router(prefix=f"/api/v1/{domain}/units", tags=["grid replica"])
        table = self.table

        @router.get("", response_model=Page[GridUnit], summary="Units known to this service")
        async def list_units(
            db: DatabaseDep,
            identity: CurrentIdentity,
            page: PageDep,
            under: Annotated[str | None, Query(description="only units strictly under this unit")] = None,
            level: Annotated[str | None, Query(max_length=16)] = None,
        ) -> Page[GridUnit]:
            """This service's copy of the grid tree, in the caller's scope, ordered by path."""
            async with db.session() as session:
                statement = select(table).where(scope_condition(table.c.path, identity, await self.scope_path(session, identity)))
                if under is not None:
                    parent = await self.get_in_scope(session, identity, under)
                    statement = statement.where(in_subtree(table.c.path, parent.path), table.c.id != parent.id)
                if level is not None:
                    statement = statement.where(table.c.level == level)
                total = await session.scalar(select(func.count()).select_from(statement.subquery()))
                rows = (
                    await session.execute(statement.order_by(table.c.path).limit(page.per_page).offset(page.offset))
                ).mappings().all()
            return Page(items=[GridUnit.model_validate(dict(r)) for r in rows], total=total or 0, page=page.page, per_page=page.per_page)

        @router.get("/{unit_id}", response_model=GridUnit, summary="One unit known to this service")
        async def read_unit(unit_id: str, db: DatabaseDep, identity: CurrentIdentity) -> GridUnit:
            """A unit of this service's grid copy; 404 when unknown or outside scope."""
            async with db.session() as session:
                return await self.get_in_scope(session, identity, unit_id)

        return router
