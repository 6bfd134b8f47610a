"""HTTP endpoint `/api/v1/grid/locate`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from grid_svc.locate import service
from grid_svc.units.models import Level, UnitPublic
from shared.identity import CurrentIdentity
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/grid", tags=["locate"])


@router.get("/locate", response_model=UnitPublic, summary="Find the micro grid containing a point")
async def locate(
    db: DatabaseDep,
    identity: CurrentIdentity,
    lng: Annotated[float, Query(ge=-180, le=180, description="longitude (WGS 84)")],
    lat: Annotated[float, Query(ge=-90, le=90, description="latitude (WGS 84)")],
    level: Level = Level.MICRO_GRID,
) -> UnitPublic:
    """The unit of `level` (micro grid by default) whose boundary contains the point; 404 when none does."""
    async with db.session() as session:
        unit = await service.locate(session, identity=identity, lng=lng, lat=lat, level=level)
    return UnitPublic.model_validate(unit, from_attributes=True)
