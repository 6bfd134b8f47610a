"""HTTP endpoints for countryside activities under `/api/v1/dispatch/activities`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from dispatch_svc.access import scope_path
from dispatch_svc.activities import service
from dispatch_svc.activities.models import ActivityCreate, ActivityKind, ActivityPublic, ActivitySummary
from dispatch_svc.clock import ClockDep
from dispatch_svc.db import grid, platform
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.problems import unprocessable
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/dispatch/activities", tags=["countryside activities"])

FromQuery = Annotated[date | None, Query(alias="from", description="first day, inclusive (Asia/Shanghai)")]
ToQuery = Annotated[date | None, Query(description="last day, inclusive (Asia/Shanghai)")]


def _period(first: date | None, last: date | None) -> None:
    if first and last and first > last:
        raise unprocessable("from is after to", loc=["query", "from"])


@router.post("", status_code=201, response_model=ActivityPublic, summary="Record a countryside activity")
async def create_activity(body: ActivityCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep, clock: ClockDep):
    """Record a culture, science & technology or health activity that was held, with attendance; emits ActivityHeld."""

    async def create(session):
        activity = await service.create_activity(session, identity=identity, data=body, now=clock.now())
        return ActivityPublic.model_validate(activity, from_attributes=True)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("", response_model=Page[ActivityPublic], summary="List countryside activities")
async def list_activities(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(max_length=26, description="held in this unit's subtree")] = None,
    kind: ActivityKind | None = None,
    from_: FromQuery = None,
    to: ToQuery = None,
) -> Page[ActivityPublic]:
    """Activities in the caller's scope, newest first."""
    _period(from_, to)
    async with db.session() as session:
        under_path = (await grid.get_in_scope(session, identity, under)).path if under else None
        statement = service.activities_query(
            identity=identity, caller_path=await scope_path(session, identity), under_path=under_path, first=from_, last=to, kind=kind
        )
        rows, total = await paginate(session, statement, page)
    return Page(items=[ActivityPublic.model_validate(r, from_attributes=True) for r in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/summary", response_model=ActivitySummary, summary="Activities and attendees under a unit")
async def activity_summary(db: DatabaseDep, identity: CurrentIdentity, unit_id: Annotated[str, Query(max_length=26)], from_: FromQuery = None, to: ToQuery = None) -> ActivitySummary:
    """Activities and attendees under a unit between two days (inclusive), in total and per kind."""
    _period(from_, to)
    async with db.session() as session:
        unit = await grid.get_in_scope(session, identity, unit_id)
        by_kind = await service.count(session, unit_path=unit.path, first=from_, last=to)
    return ActivitySummary(
        unit_id=unit.id, from_=from_, to=to, activities=sum(c.activities for c in by_kind.values()),
        attendees=sum(c.attendees for c in by_kind.values()), by_kind=by_kind,
    )


@router.get("/{activity_id}", response_model=ActivityPublic, summary="Read a countryside activity")
async def read_activity(activity_id: str, db: DatabaseDep, identity: CurrentIdentity) -> ActivityPublic:
    """One activity; 404 outside the caller's scope."""
    async with db.session() as session:
        return ActivityPublic.model_validate(await service.get_activity(session, identity=identity, activity_id=activity_id), from_attributes=True)
