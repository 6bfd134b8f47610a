"""HTTP endpoints for monthly demand and dispatch plans under `/api/v1/dispatch`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.access import scope_path
from dispatch_svc.clock import MONTH_PATTERN, ClockDep
from dispatch_svc.db import grid, platform
from dispatch_svc.plans import service
from dispatch_svc.plans.models import Demand, Plan, PlanCreate, PlanItemCreate, PlanItemPublic, PlanPublic, PlanStatus, Proposal
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/dispatch", tags=["monthly demand and plans"])


async def public(session: AsyncSession, plan: Plan) -> PlanPublic:
    """A plan with its items."""
    items = await service.items_of(session, plan.id)
    return PlanPublic(**plan.model_dump(), items=[PlanItemPublic.model_validate(i, from_attributes=True) for i in items])


@router.get("/demand", response_model=Demand, summary="The month's demand under a unit")
async def monthly_demand(
    db: DatabaseDep,
    identity: CurrentIdentity,
    unit_id: Annotated[str, Query(max_length=26)],
    month: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM (Asia/Shanghai)")],
) -> Demand:
    """Orders submitted under the unit in the month, grouped by service type and village (largest first), with the ids still awaiting dispatch."""
    async with db.session() as session:
        return await service.demand(session, identity=identity, unit_id=unit_id, month=month)


@router.post("/plans", status_code=201, response_model=PlanPublic, summary="Start a dispatch plan")
async def create_plan(body: PlanCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep, clock: ClockDep):
    """Start a draft plan for a unit and month; add items, then execute it."""

    async def create(session):
        plan = await service.create_plan(session, identity=identity, data=body, now=clock.now())
        await session.flush()
        return await public(session, plan)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/plans", response_model=Page[PlanPublic], summary="List dispatch plans")
async def list_plans(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(max_length=26)] = None,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    status: PlanStatus | None = None,
) -> Page[PlanPublic]:
    """Plans in the caller's scope, newest month first."""
    async with db.session() as session:
        under_path = (await grid.get_in_scope(session, identity, under)).path if under else None
        statement = service.plans_query(identity=identity, caller_path=await scope_path(session, identity), under_path=under_path, month=month, status=status)
        rows, total = await paginate(session, statement, page)
        items = [await public(session, p) for p in rows]
    return Page(items=items, total=total, page=page.page, per_page=page.per_page)


@router.get("/plans/{plan_id}", response_model=PlanPublic, summary="Read a dispatch plan")
async def read_plan(plan_id: str, db: DatabaseDep, identity: CurrentIdentity) -> PlanPublic:
    """One plan with its items."""
    async with db.session() as session:
        return await public(session, await service.get_plan(session, identity=identity, plan_id=plan_id))


@router.post("/plans/{plan_id}/items", status_code=201, response_model=PlanItemPublic, summary="Assign orders in a plan")
async def add_plan_item(plan_id: str, body: PlanItemCreate, db: DatabaseDep, identity: CurrentIdentity) -> PlanItemPublic:
    """Assign orders of one service type to a provider or person, as a batch or as one group session (e.g. a training).

    Orders must lie under the plan's unit, be of the item's service type and still await dispatch.
    """
    async with db.transaction() as session:
        item = await service.add_item(session, identity=identity, plan_id=plan_id, data=body)
        return PlanItemPublic.model_validate(item, from_attributes=True)


@router.post("/plans/{plan_id}/propose", response_model=Proposal, summary="Fill a plan from the month's demand")
async def propose_plan_items(plan_id: str, db: DatabaseDep, identity: CurrentIdentity) -> Proposal:
    """Add items for provider-routed orders still awaiting dispatch: per service type and village, the most
    local provider with capacity left gets one group session (trainings, culture, health) or a batch.

    Orders no provider can take are listed for the organiser to assign by hand; review, then execute.
    """
    async with db.transaction() as session:
        added, unassigned = await service.propose_items(session, identity=identity, plan_id=plan_id)
        return Proposal(
            plan_id=plan_id, added=[PlanItemPublic.model_validate(i, from_attributes=True) for i in added], unassigned_order_ids=unassigned
        )


@router.delete("/plans/{plan_id}/items/{item_id}", status_code=204, summary="Remove an item from a plan")
async def remove_plan_item(plan_id: str, item_id: str, db: DatabaseDep, identity: CurrentIdentity) -> Response:
    """Drop an item from a draft plan."""
    async with db.transaction() as session:
        await service.remove_item(session, identity=identity, plan_id=plan_id, item_id=item_id)
    return Response(status_code=204)


@router.post("/plans/{plan_id}/execute", response_model=PlanPublic, summary="Execute a plan: dispatch its orders")
async def execute_plan(plan_id: str, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep) -> PlanPublic:
    """Dispatch every order of the plan as assigned, all or nothing; each order emits OrderDispatched.

    Answers 409 `capacity_exhausted` when a provider's monthly capacity cannot take its items
    (a group session uses one dispatch), or `illegal_transition` when an order moved on meanwhile.
    """
    async with db.transaction() as session:
        plan = await service.execute_plan(session, identity=identity, plan_id=plan_id, now=clock.now())
    async with db.session() as session:
        return await public(session, plan)


@router.post("/plans/{plan_id}/cancel", response_model=PlanPublic, summary="Cancel a draft plan")
async def cancel_plan(plan_id: str, db: DatabaseDep, identity: CurrentIdentity) -> PlanPublic:
    """Abandon a draft plan; its orders are untouched."""
    async with db.transaction() as session:
        plan = await service.cancel_plan(session, identity=identity, plan_id=plan_id)
    async with db.session() as session:
        return await public(session, plan)
