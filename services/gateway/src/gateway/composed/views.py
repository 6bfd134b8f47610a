"""Composed views under `/api/v1/views` and the town dashboard under `/api/v1/dashboards`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query, Request

from gateway.callers import CallerIdentity
from gateway.composed.dashboard import TownDashboard, town_dashboard
from gateway.composed.overview import UnitOverview, unit_overview
from gateway.composed.profile import MemberProfile, member_profile
from gateway.composed.sections import Composer
from shared.local_time import today
from shared.problems import unprocessable
from shared.routing import api_router

router = api_router(tags=["composed views"])

MAX_PERIOD_DAYS = 366


@router.get("/api/v1/views/units/{unit_id}/overview", response_model=UnitOverview, summary="Unit overview")
async def read_unit_overview(unit_id: str, request: Request, identity: CallerIdentity) -> UnitOverview:
    """The unit, its 1+1+1+N team and compliance, households, open and overdue orders, cases in
    progress, and the top party members by points this month — fetched from the four services at once.

    Answers 200 with `degraded` naming the sections a slow or stopped service could not give;
    404 when the unit is unknown or outside the caller's scope.
    """
    return await unit_overview(Composer(request, identity), unit_id)


@router.get("/api/v1/views/members/{member_id}/profile", response_model=MemberProfile, summary="Party member profile")
async def read_member_profile(member_id: str, request: Request, identity: CallerIdentity) -> MemberProfile:
    """A party member's grid roles and liaisons, points balance, rating and recent entries, orders
    served, lectures given and mediations taken part in; `degraded` names what is missing."""
    return await member_profile(Composer(request, identity), member_id)


@router.get("/api/v1/dashboards/towns/{unit_id}", response_model=TownDashboard, summary="Town dashboard")
async def read_town_dashboard(
    unit_id: str,
    request: Request,
    identity: CallerIdentity,
    start: Annotated[date | None, Query(alias="from", description="first day, YYYY-MM-DD (default 1 January this year)")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day, YYYY-MM-DD (default today, Asia/Shanghai)")] = None,
) -> TownDashboard:
    """The report's figures for a town over a period: grids, households, members, liaison coverage,
    lectures, activities, orders and their rates, legal work, amounts recovered (yuan), points entries.

    A figure whose service does not answer is null and named in `degraded`. Periods up to a year.
    """
    end = end or today()
    start = start or end.replace(month=1, day=1)
    if start > end:
        raise unprocessable("from must not be after to", loc=["query", "from"])
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise unprocessable(f"the period may span at most {MAX_PERIOD_DAYS} days", loc=["query", "to"])
    dashboard = await town_dashboard(Composer(request, identity), unit_id, start, end)
    if dashboard.unit is not None and dashboard.unit.get("level") != "town":
        raise unprocessable(f"unit {unit_id} is a {dashboard.unit.get('level')}, not a town", code="not_a_town", loc=["path", "unit_id"])
    return dashboard
