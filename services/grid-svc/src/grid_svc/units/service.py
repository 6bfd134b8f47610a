"""Unit use cases: create, rename, move, retire, and subtree questions answered from the path index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shapely.geometry import shape
from shapely.validation import explain_validity
from sqlalchemy import Select, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.access import require_grid_admin
from grid_svc.units.models import Level, LevelCounts, Unit, UnitCreate
from shared.events.grid import UnitCreated, UnitMoved, UnitRenamed, UnitRetired
from shared.identity import Identity, Role
from shared.ids import new_id
from shared.outbox import emit
from shared.problems import Problem, conflict, not_found, unprocessable
from shared.scope import child_path, in_subtree, path_in_scope, scope_condition


async def scope_path_of(session: AsyncSession, identity: Identity) -> str | None:
    """Materialised path of the caller's scope unit (None when unrestricted or unknown)."""
    if identity.unrestricted or identity.scope_unit_id is None:
        return None
    return await session.scalar(select(Unit.path).where(Unit.id == identity.scope_unit_id))


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


def _geometry(boundary: dict[str, Any] | None) -> tuple[float | None, float | None]:
    if boundary is None:
        return None, None
    try:
        geometry = shape(boundary)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise unprocessable(f"boundary is not valid GeoJSON: {exc}", loc=["body", "boundary"]) from exc
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise unprocessable("boundary must be a Polygon or MultiPolygon", loc=["body", "boundary"])
    if not geometry.is_valid:
        raise unprocessable(f"boundary is not a valid polygon: {explain_validity(geometry)}", loc=["body", "boundary"])
    centroid = geometry.centroid
    return centroid.x, centroid.y


async def _sibling_code_taken(session: AsyncSession, parent_id: str | None, code: str) -> bool:
    same_parent = Unit.parent_id.is_(None) if parent_id is None else Unit.parent_id == parent_id
    return (await session.scalar(select(Unit.id).where(same_parent, Unit.code == code))) is not None


async def create_unit(session: AsyncSession, *, identity: Identity, data: UnitCreate) -> Unit:
    """Add a unit under its parent (a county at the root); emit UnitCreated."""
    require_grid_admin(identity)
    if data.parent_id is None:
        if data.level != Level.COUNTY:
            raise unprocessable("only a county may be created without a parent", loc=["body", "parent_id"])
        if identity.role != Role.PLATFORM_ADMIN:
            raise Problem(403, "forbidden", "only a platform admin creates counties")
        parent = None
    else:
        parent = await get_unit(session, identity=identity, unit_id=data.parent_id)
        if parent.retired_at is not None:
            raise unprocessable("the parent unit is retired", loc=["body", "parent_id"])
        if parent.level.child != data.level:
            expected = parent.level.child.value if parent.level.child else "nothing (micro grids have no children)"
            raise unprocessable(
                f"a unit under a {parent.level.value} must be a {expected}, not a {data.level.value}",
                code="invalid_level",
                loc=["body", "level"],
            )
    if await _sibling_code_taken(session, data.parent_id, data.code):
        raise conflict(f"code {data.code} is already used under this parent", code="duplicate_code")
    lng, lat = _geometry(data.boundary)
    now = datetime.now(UTC)
    unit_id = new_id()
    unit = Unit(
        id=unit_id,
        code=data.code,
        name=data.name,
        level=data.level,
        parent_id=data.parent_id,
        path=child_path(parent.path if parent else None, unit_id),
        full_code=f"{parent.full_code}.{data.code}" if parent else data.code,
        boundary=data.boundary,
        centroid_lng=lng,
        centroid_lat=lat,
        created_at=now,
        updated_at=now,
    )
    session.add(unit)
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
    unit.centroid_lng, unit.centroid_lat = _geometry(boundary)
    unit.boundary = boundary
    unit.updated_at = datetime.now(UTC)
    return unit


async def move_unit(session: AsyncSession, *, identity: Identity, unit_id: str, parent_id: str) -> Unit:
    """Re-parent a unit and its whole subtree (one UPDATE over the path range); emit UnitMoved."""
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


async def level_counts(session: AsyncSession, *, identity: Identity, unit_id: str) -> LevelCounts:
    """Active units per level strictly under `unit_id`: one grouped range scan on the path index."""
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    rows = await session.execute(
        select(Unit.level, func.count())
        .where(in_subtree(Unit.path, unit.path), Unit.id != unit.id, Unit.retired_at.is_(None))
        .group_by(Unit.level)
    )
    return LevelCounts(unit_id=unit.id, **{str(level): count for level, count in rows.all()})
