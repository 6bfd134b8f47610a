"""`GET /api/v1/legal/figures`: the rule-of-law figures of a unit and period (read by the town dashboard)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from legal_svc.figures.models import LegalFigures
from legal_svc.figures.service import legal_figures
from legal_svc.periods import PeriodDep
from shared.identity import CurrentIdentity
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/legal", tags=["figures"])


@router.get("/figures", response_model=LegalFigures, response_model_by_alias=True, summary="Rule-of-law figures of a unit and period")
async def figures(
    db: DatabaseDep,
    identity: CurrentIdentity,
    period: PeriodDep,
    unit_id: Annotated[str, Query(max_length=26, description="the unit whose whole subtree is counted")],
) -> LegalFigures:
    """Consultations, legal affairs, cases by outcome, disputes advisers took part in mediating, amounts
    recovered (advisers and patrols kept apart), campaigns, inspections, publicity teams and events,
    patrols — for the unit's subtree over `from`–`to` (inclusive, either may be open). Aggregates only:
    no personal data. 404 when the unit is outside the caller's scope.
    """
    async with db.session() as session:
        return await legal_figures(session, identity=identity, unit_id=unit_id, start=period.start, end=period.end)
