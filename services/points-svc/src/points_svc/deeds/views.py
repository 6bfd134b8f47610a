"""HTTP endpoints for received deeds under `/api/v1/points/deeds`."""

from __future__ import annotations

from points_svc.db import grid
from points_svc.deeds import service
from points_svc.deeds.models import DeedPublic, DeedStatus
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/points/deeds", tags=["deeds"])


@router.get("", response_model=Page[DeedPublic], summary="List deeds reported by events")
async def list_deeds(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: str | None = None,
    status: DeedStatus | None = None,
    person_id: str | None = None,
) -> Page[DeedPublic]:
    """Deeds that dispatch and legal reported (orders served, lectures, mediations), newest
    first, with what became of each: credited (with its entry), waiting for the member to
    reach the roster, no matching rule, or rejected by the rule (e.g. its monthly cap)."""
    async with db.session() as session:
        under_path = (await grid.get_in_scope(session, identity, under)).path if under else None
        statement = service.list_deeds_query(
            identity=identity, scope_path=await grid.scope_path(session, identity), under_path=under_path,
            status=status, person_id=person_id,
        )
        rows, total = await paginate(session, statement, page)
    return Page(items=[DeedPublic.model_validate(d, from_attributes=True) for d in rows], total=total, page=page.page, per_page=page.per_page)
