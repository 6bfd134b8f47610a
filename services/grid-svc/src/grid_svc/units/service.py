"""Unit use cases: create, rename, move, retire, and subtree questions answered from the path index."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shapely.geometry import shape
from shapely.validation import explain_validity
from sqlalchemy import CompoundSelect, Date, Row, Select, bindparam, func, insert, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.access import require_grid_admin
from grid_svc.households.models import Household
from grid_svc.party.models import ORG_KIND_OF_LEVEL, PartyOrg, default_org_name
from grid_svc.units.models import Level, LevelCounts, Unit, UnitBatchItem, UnitCreate, UnitPlacement
from shared.database import Database, once_per_read
from shared.events.grid import UnitCreated, UnitMoved, UnitRenamed, UnitRetired
from shared.identity import Identity, Role
from shared.ids import new_id
from shared.local_time import today
from shared.outbox import emit
from shared.problems import Problem, conflict, not_found, unprocessable
from shared.scope import (
    caller_scope_path,
    child_path,
    fetch_in_scope,
    in_named_subtree,
    in_subtree,
    path_in_scope,
    scope_condition,
    subtree_pattern,
)


async def scope_path_of(session: AsyncSession, identity: Identity) -> str | None:
    """Materialised path of the caller's scope unit (None when unrestricted or unknown)."""
    if identity.unrestricted or identity.scope_unit_id is None:
        return None
    statement = select(Unit.path).where(Unit.id == identity.scope_unit_id)
    return await once_per_read(session, ("scope_path", identity.scope_unit_id), lambda: session.scalar(statement))


UNIT_IN_SCOPE = select(Unit.__table__, caller_scope_path(Unit.id, Unit.path)).where(Unit.id == bindparam("unit_id"))


async def read_unit(db: Database, *, identity: Identity, unit_id: str) -> Row:
    """The unit `unit_id` as a row, if it lies in the caller's scope, else 404 (one round trip)."""
    return await fetch_in_scope(db, UNIT_IN_SCOPE, identity, path="path", record="unit", unit_id=unit_id)


async def get_unit(session: AsyncSession, *, identity: Identity, unit_id: str) -> Unit:
    """The unit `unit_id` if it lies in the caller's scope, else 404."""
    unit = await session.get(Unit, unit_id)
    if unit is None or not path_in_scope(unit.path, identity, await scope_path_of(session, identity)):
        raise not_found("unit")
    return unit


def list_units_query(
    *,
    identity: Identity,
    scope_path: str | None,
    under: Unit | None,
    level: Level | None,
    name_contains: str | None,
    include_retired: bool,
) -> Select:
    """Units in scope (optionally under a unit, of a level), ordered by path."""
    statement = select(Unit).where(scope_condition(Unit.path, identity, scope_path))
    if under is not None:
        statement = statement.where(in_subtree(Unit.path, under.path), Unit.id != under.id)
    if level is not None:
        statement = statement.where(Unit.level == level)
    if name_contains:
        statement = statement.where(Unit.name.contains(name_contains, autoescape=True))
    if not include_retired:
        statement = statement.where(Unit.retired_at.is_(None))
    return statement.order_by(Unit.path)


def _geometry(boundary: dict[str, Any] | None) -> dict[str, float | None]:
    """Centroid and bounding box of a GeoJSON polygon (all None without a boundary); 422 when invalid."""
    if boundary is None:
        return dict(centroid_lng=None, centroid_lat=None, min_lng=None, min_lat=None, max_lng=None, max_lat=None)
    try:
        geometry = shape(boundary)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise unprocessable(f"boundary is not valid GeoJSON: {exc}", loc=["body", "boundary"]) from exc
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise unprocessable("boundary must be a Polygon or MultiPolygon", loc=["body", "boundary"])
    if not geometry.is_valid:
        raise unprocessable(f"boundary is not a valid polygon: {explain_validity(geometry)}", loc=["body", "boundary"])
    centroid = geometry.centroid
    min_lng, min_lat, max_lng, max_lat = geometry.bounds
    return dict(centroid_lng=centroid.x, centroid_lat=centroid.y, min_lng=min_lng, min_lat=min_lat, max_lng=max_lng, max_lat=max_lat)


async def _sibling_code_taken(session: AsyncSession, parent_id: str | None, code: str) -> bool:
    same_parent = Unit.parent_id.is_(None) if parent_id is None else Unit.parent_id == parent_id
    return (await session.scalar(select(Unit.id).where(same_parent, Unit.code == code))) is not None


async def create_unit(session: AsyncSession, *, identity: Identity, data: UnitCreate) -> Unit:
    """Add a unit under its parent (a county at the root); emit UnitCreated."""
    require_grid_admin(identity)
    parent = None if data.parent_id is None else await get_unit(session, identity=identity, unit_id=data.parent_id)
    return await _add_unit(session, identity=identity, data=data, parent=parent)


async def create_units(session: AsyncSession, *, identity: Identity, items: list[UnitBatchItem]) -> list[Unit]:
    """Add many units in order, each validated as `create_unit` does; parents may be earlier items."""
    require_grid_admin(identity)
    by_ref: dict[str, Unit] = {}
    created: list[Unit] = []
    batch = _Batch()
    for index, item in enumerate(items):
        if item.parent_ref is not None and item.parent_id is not None:
            raise unprocessable("give parent_id or parent_ref, not both", loc=["body", "units", index, "parent_ref"])
        if item.parent_ref is not None:
            parent = by_ref.get(item.parent_ref)
            if parent is None:
                raise unprocessable(f"no earlier item has ref {item.parent_ref}", loc=["body", "units", index, "parent_ref"])
            data = UnitCreate.model_validate({**item.model_dump(exclude={"ref", "parent_ref"}), "parent_id": parent.id})
        else:
            parent = None if item.parent_id is None else await get_unit(session, identity=identity, unit_id=item.parent_id)
            data = UnitCreate.model_validate(item.model_dump(exclude={"ref", "parent_ref"}))
        try:
            unit = await _add_unit(session, identity=identity, data=data, parent=parent, batch=batch)
        except Problem as problem:
            # Say which item failed: the batch is all or nothing.
            problem.detail = f"units[{index}]: {problem.detail}"
            if problem.errors:
                for error in problem.errors:
                    error["loc"] = ["body", "units", index, *error["loc"][1:]]
            raise
        if item.ref is not None:
            if item.ref in by_ref:
                raise unprocessable(f"ref {item.ref} is used twice", loc=["body", "units", index, "ref"])
            by_ref[item.ref] = unit
        created.append(unit)
    await session.flush()
    session.add_all(batch.followers)
    return created


class _Batch:
    """What a batch knows without asking the database: units it made, and rows to add after them."""

    def __init__(self) -> None:
        self.new_ids: set[str] = set()
        self.codes: set[tuple[str | None, str]] = set()
        self.followers: list = []


async def _add_unit(
    session: AsyncSession, *, identity: Identity, data: UnitCreate, parent: Unit | None, batch: _Batch | None = None
) -> Unit:
    if parent is None:
        if data.level != Level.COUNTY:
            raise unprocessable("only a county may be created without a parent", loc=["body", "parent_id"])
        if identity.role != Role.PLATFORM_ADMIN:
            raise Problem(403, "forbidden", "only a platform admin creates counties")
    else:
        if parent.retired_at is not None:
            raise unprocessable("the parent unit is retired", loc=["body", "parent_id"])
        if parent.level.child != data.level:
            expected = parent.level.child.value if parent.level.child else "nothing (micro grids have no children)"
            raise unprocessable(
                f"a unit under a {parent.level.value} must be a {expected}, not a {data.level.value}",
                code="invalid_level",
                loc=["body", "level"],
            )
    parent_id = parent.id if parent else None
    if batch is not None and (parent_id, data.code) in batch.codes:
        taken = True
    elif batch is not None and parent_id in batch.new_ids:
        taken = False  # a parent made in this batch has no children in the database
    else:
        taken = await _sibling_code_taken(session, parent_id, data.code)
    if taken:
        raise conflict(f"code {data.code} is already used under this parent", code="duplicate_code")
    geometry = _geometry(data.boundary)
    now = datetime.now(UTC)
    unit_id = new_id()
    unit = Unit(
        id=unit_id,
        code=data.code,
        name=data.name,
        level=data.level,
        parent_id=parent_id,
        path=child_path(parent.path if parent else None, unit_id),
        full_code=f"{parent.full_code}.{data.code}" if parent else data.code,
        boundary=data.boundary,
        **geometry,
        created_at=now,
        updated_at=now,
    )
    session.add(unit)
    followers: list = [
        UnitPlacement(
            unit_id=unit.id, parent_id=unit.parent_id, path=unit.path, full_code=unit.full_code, starts_on=data.established_on or today()
        )
    ]
    kind = ORG_KIND_OF_LEVEL.get(unit.level)
    if kind is not None:
        # The party organisation mirrors the tree: every town, village and grid gets its own.
        followers.append(
            PartyOrg(id=new_id(), unit_id=unit.id, kind=kind, name=default_org_name(unit.name, kind), created_at=now, updated_at=now)
        )
    if batch is None:
        await session.flush()  # rows that point at the unit are inserted after it
        session.add_all(followers)
    else:
        batch.new_ids.add(unit.id)
        batch.codes.add((parent_id, unit.code))
        batch.followers.extend(followers)
    emit(
        session,
        UnitCreated(
            unit_id=unit.id,
            code=unit.code,
            full_code=unit.full_code,
            name=unit.name,
            level=unit.level.value,
            parent_id=unit.parent_id,
            path=unit.path,
        ),
    )
    return unit


async def rename_unit(session: AsyncSession, *, identity: Identity, unit_id: str, name: str) -> Unit:
    """Give a unit a new name; emit UnitRenamed."""
    require_grid_admin(identity)
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    name = name.strip()
    if not name:
        raise unprocessable("name must not be blank", loc=["body", "name"])
    if name != unit.name:
        unit.name = name
        unit.updated_at = datetime.now(UTC)
        emit(session, UnitRenamed(unit_id=unit.id, name=name))
    return unit


async def set_boundary(session: AsyncSession, *, identity: Identity, unit_id: str, boundary: dict[str, Any] | None) -> Unit:
    """Set or clear a unit's boundary (its centroid follows)."""
    require_grid_admin(identity)
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    for name, value in _geometry(boundary).items():
        setattr(unit, name, value)
    unit.boundary = boundary
    unit.updated_at = datetime.now(UTC)
    return unit


async def move_unit(
    session: AsyncSession, *, identity: Identity, unit_id: str, parent_id: str, moved_on: date | None = None
) -> Unit:
    """Re-parent a unit and its whole subtree (one UPDATE over the path range, history kept); emit UnitMoved."""
    require_grid_admin(identity)
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    parent = await get_unit(session, identity=identity, unit_id=parent_id)
    if unit.parent_id is None:
        raise unprocessable("a root unit cannot be moved", loc=["path", "unit_id"])
    if parent.path.startswith(unit.path):
        raise unprocessable("a unit cannot move under itself or its own descendants", code="cycle", loc=["body", "parent_id"])
    if parent.level.child != unit.level:
        raise unprocessable(
            f"a {unit.level.value} cannot be placed under a {parent.level.value}", code="invalid_level", loc=["body", "parent_id"]
        )
    if parent.retired_at is not None:
        raise unprocessable("the new parent is retired", loc=["body", "parent_id"])
    if parent.id == unit.parent_id:
        return unit
    if await _sibling_code_taken(session, parent.id, unit.code):
        raise conflict(f"code {unit.code} is already used under the new parent", code="duplicate_code")
    old_path, old_full_code = unit.path, unit.full_code
    new_path = child_path(parent.path, unit.id)
    new_full_code = f"{parent.full_code}.{unit.code}"
    now = datetime.now(UTC)
    moved_on = moved_on or today()
    subtree_ids = select(Unit.id).where(in_subtree(Unit.path, old_path)).scalar_subquery()
    open_placement = (UnitPlacement.unit_id.in_(subtree_ids), UnitPlacement.ends_on.is_(None))
    latest_start = await session.scalar(select(func.max(UnitPlacement.starts_on)).where(*open_placement))
    if latest_start is not None and moved_on < latest_start:
        raise unprocessable(
            f"moved_on must not be before {latest_start.isoformat()}, when the subtree took its current place",
            loc=["body", "moved_on"],
        )
    await session.execute(
        update(UnitPlacement).where(*open_placement).values(ends_on=moved_on).execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Unit)
        .where(in_subtree(Unit.path, old_path))
        .values(
            path=literal(new_path) + func.substr(Unit.path, len(old_path) + 1),
            full_code=literal(new_full_code) + func.substr(Unit.full_code, len(old_full_code) + 1),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(update(Unit).where(Unit.id == unit.id).values(parent_id=parent.id))
    # Every unit of the subtree starts a new period at its new path, in one INSERT … SELECT.
    await session.execute(
        insert(UnitPlacement).from_select(
            ["unit_id", "parent_id", "path", "full_code", "starts_on"],
            select(Unit.id, Unit.parent_id, Unit.path, Unit.full_code, literal(moved_on, Date)).where(in_subtree(Unit.path, new_path)),
        )
    )
    await session.refresh(unit)
    emit(session, UnitMoved(unit_id=unit.id, parent_id=parent.id, old_path=old_path, path=new_path, full_code=new_full_code))
    return unit


async def retire_unit(session: AsyncSession, *, identity: Identity, unit_id: str) -> Unit:
    """Retire a unit whose children are all retired (soft; it stays for history); emit UnitRetired."""
    require_grid_admin(identity)
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    if unit.retired_at is not None:
        return unit
    active_child = await session.scalar(select(Unit.id).where(Unit.parent_id == unit.id, Unit.retired_at.is_(None)).limit(1))
    if active_child is not None:
        raise conflict("retire or move the unit's children first", code="has_active_children")
    household = await session.scalar(select(Household.id).where(Household.unit_id == unit.id, Household.dissolved_on.is_(None)).limit(1))
    if household is not None:
        raise conflict("move or dissolve the unit's households first", code="has_households")
    unit.retired_at = unit.updated_at = datetime.now(UTC)
    emit(session, UnitRetired(unit_id=unit.id, retired_at=unit.retired_at))
    return unit


async def ancestors(session: AsyncSession, *, identity: Identity, unit_id: str) -> list[Unit]:
    """The unit's ancestors from the root down, then the unit (a breadcrumb), within the caller's scope."""
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    ids = [part for part in unit.path.split("/") if part]
    scope_path = await scope_path_of(session, identity)
    rows = (await session.execute(select(Unit).where(Unit.id.in_(ids)))).scalars().all()
    by_id = {u.id: u for u in rows if path_in_scope(u.path, identity, scope_path)}
    return [by_id[i] for i in ids if i in by_id]


def level_counts_statement(level: Level) -> CompoundSelect | None:
    """Active units per level strictly under a unit of `level` (bind `subtree`; None below micro grids).

    One count per level below, each a range on the (level, path) index: planners then never
    prefer scanning a whole index to save the GROUP BY sort.
    """
    order = list(Level)
    below = order[order.index(level) + 1 :]
    if not below:
        return None
    return union_all(
        *(
            select(literal(level.value).label("level"), func.count().label("units"))
            .select_from(Unit)
            .where(Unit.level == level, in_named_subtree(Unit.path), Unit.retired_at.is_(None))
            for level in below
        )
    )


LEVEL_COUNTS = {level: level_counts_statement(level) for level in Level}


async def level_counts(db: Database, *, identity: Identity, unit_id: str) -> LevelCounts:
    """Active units per level strictly under `unit_id`, answered from the path index (two round trips)."""
    unit = await read_unit(db, identity=identity, unit_id=unit_id)
    statement = LEVEL_COUNTS[Level(unit.level)]
    rows = await db.fetch_all(statement, {"subtree": subtree_pattern(unit.path)}) if statement is not None else []
    return LevelCounts(unit_id=unit.id, **{str(level): count for level, count in rows})


async def placements(session: AsyncSession, *, identity: Identity, unit_id: str) -> list[UnitPlacement]:
    """The unit's positions in the tree over time, oldest first."""
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    rows = await session.execute(
        select(UnitPlacement).where(UnitPlacement.unit_id == unit.id).order_by(UnitPlacement.starts_on, UnitPlacement.id)
    )
    return list(rows.scalars().all())


async def placement_on(session: AsyncSession, *, unit_id: str, day: date) -> UnitPlacement | None:
    """Where the unit sat in the tree on `day` (the latest period when several started that day)."""
    return await session.scalar(
        select(UnitPlacement)
        .where(UnitPlacement.unit_id == unit_id, UnitPlacement.starts_on <= day)
        .where((UnitPlacement.ends_on.is_(None)) | (UnitPlacement.ends_on > day))
        .order_by(UnitPlacement.id.desc())
        .limit(1)
    )
