"""HTTP endpoints for rates and dashboard figures under `/api/v1/dispatch`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from sqlalchemy import select

from dispatch_svc.clock import MONTH_PATTERN, days_range, month_range
from dispatch_svc.db import grid
from dispatch_svc.figures.models import Figures, RatesReport, UnitRates
from dispatch_svc.figures.service import counts_of, dashboard_counts, order_counts, order_counts_by_child
from shared.identity import CurrentIdentity
from shared.problems import unprocessable
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/dispatch", tags=["figures"])

MAX_CHILDREN = 200


@router.get("/rates", response_model=RatesReport, summary="Response, resolution and satisfaction rates of a unit in a month")
async def rates(
    db: DatabaseDep,
    identity: CurrentIdentity,
    unit_id: Annotated[str, Query(max_length=26)],
    month: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM (Asia/Shanghai)")],
) -> RatesReport:
    """The three rates over the orders submitted under the unit in the month, and the same for each child unit.

    - **response_rate** = orders accepted by their response deadline ÷ orders submitted
    - **resolution_rate** = orders completed (evaluated ones included) ÷ orders submitted, cancelled orders excluded
    - **satisfaction_rate** = evaluations rating 4 or 5 ÷ evaluations

    Orders count in the month they were submitted (Asia/Shanghai); a rate is null when nothing
    is there to divide by.
    """
    start, end = month_range(month)
    async with db.session() as session:
        unit = await grid.get_in_scope(session, identity, unit_id)
        counts = await order_counts(session, unit_path=unit.path, start=start, end=end)
        t = grid.table
        children = (
            await session.execute(
                select(t.c.id, t.c.name, t.c.path).where(t.c.parent_id == unit.id, t.c.retired_at.is_(None)).order_by(t.c.code).limit(MAX_CHILDREN)
            )
        ).all()
        by_child = await order_counts_by_child(session, unit_path=unit.path, children=[c.path for c in children], start=start, end=end)
        child_rates = [UnitRates(unit_id=c.id, unit_name=c.name, month=month, **by_child[c.path].model_dump()) for c in children]
    return RatesReport(unit_id=unit.id, unit_name=unit.name, month=month, **counts.model_dump(), children=child_rates)


@router.get("/figures", response_model=Figures, summary="Dashboard figures of a unit for a period")
async def figures(
    db: DatabaseDep,
    identity: CurrentIdentity,
    unit_id: Annotated[str, Query(max_length=26)],
    from_: Annotated[date, Query(alias="from", description="first day, inclusive (Asia/Shanghai)")],
    to: Annotated[date, Query(description="last day, inclusive (Asia/Shanghai)")],
) -> Figures:
    """Micro-lecture sessions and attendees, countryside activities, orders and the three rates under a unit.

    Lectures and activities count by the day they were held; orders by the day they were
    submitted. Rates are defined as on `GET /rates`: response_rate = accepted by the response
    deadline ÷ submitted; resolution_rate = completed ÷ submitted excluding cancelled;
    satisfaction_rate = evaluations of 4–5 ÷ evaluations (null when there is nothing to divide).
    """
    if from_ > to:
        raise unprocessable("from is after to", loc=["query", "from"])
    async with db.session() as session:
        unit = await grid.get_in_scope(session, identity, unit_id)
        start, end = days_range(from_, to)
        values = await dashboard_counts(session, unit_path=unit.path, first=from_, last=to, start=start, end=end)
    counts = counts_of(values)
    return Figures(
        unit_id=unit.id, from_=from_, to=to, lecture_sessions=values["lecture_sessions"], lecture_attendees=values["lecture_attendees"],
        activities=values["activities"], activity_attendees=values["activity_attendees"], orders=counts.submitted,
        orders_completed=counts.completed,
        response_rate=counts.response_rate, resolution_rate=counts.resolution_rate, satisfaction_rate=counts.satisfaction_rate,
    )
