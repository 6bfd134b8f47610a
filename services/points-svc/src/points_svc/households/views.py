"""HTTP endpoints for the households points-svc knows, under `/api/v1/points/households`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from sqlalchemy import select

from points_svc.access import require_branch_manager
from points_svc.db import grid
from points_svc.households.models import Household, HouseholdPublic
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.scope import in_subtree, scope_condition
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/points/households", tags=["households"])


@router.get("", response_model=Page[HouseholdPublic], summary="List households (appraisal candidates)")
async def list_households(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: str | None = None,
    q: Annotated[str | None, Query(max_length=100, description="head's name contains")] = None,
) -> Page[HouseholdPublic]:
    """Households in the caller's scope (from grid-svc's events), to put up in appraisals; for branch managers."""
    require_branch_manager(identity)
    async with db.session() as session:
        statement = select(Household).where(scope_condition(Household.unit_path, identity, await grid.scope_path(session, identity)))
        if under is not None:
            statement = statement.where(in_subtree(Household.unit_path, (await grid.get_in_scope(session, identity, under)).path))
        if q:
            statement = statement.where(Household.head_name.contains(q, autoescape=True))
        rows, total = await paginate(session, statement.order_by(Household.unit_path, Household.id), page)
    return Page(items=[HouseholdPublic.model_validate(h, from_attributes=True) for h in rows], total=total, page=page.page, per_page=page.per_page)
