"""Point-in-polygon lookup: the bounding-box index picks candidates, shapely decides."""

from __future__ import annotations

from shapely.geometry import Point, shape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.units.models import Level, Unit
from grid_svc.units.service import scope_path_of
from shared.identity import Identity
from shared.problems import not_found
from shared.scope import scope_condition


async def locate(session: AsyncSession, *, identity: Identity, lng: float, lat: float, level: Level = Level.MICRO_GRID) -> Unit:
    """The active unit of `level` in scope whose boundary contains (lng, lat), else 404."""
    candidates = await session.execute(
        select(Unit)
        .where(
            Unit.level == level,
            Unit.min_lng <= lng,
            Unit.max_lng >= lng,
            Unit.min_lat <= lat,
            Unit.max_lat >= lat,
            Unit.retired_at.is_(None),
            scope_condition(Unit.path, identity, await scope_path_of(session, identity)),
        )
        .order_by(Unit.path)
    )
    point = Point(lng, lat)
    for unit in candidates.scalars():
        if unit.boundary is not None and shape(unit.boundary).covers(point):
            return unit
    raise not_found(f"{level.value} containing the point")
