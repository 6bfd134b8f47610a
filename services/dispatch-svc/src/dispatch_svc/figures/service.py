"""Counting orders under a unit in a period, and the three rates (definitions on OrderCounts).

Each answer is one statement: the figures are small aggregates, and every execution (and every
statement built) costs the service more than the database spends on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import cache

from sqlalchemy import ColumnElement, Select, bindparam, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.activities.models import Activity
from dispatch_svc.figures.models import OrderCounts
from dispatch_svc.lectures.models import Lecture
from dispatch_svc.orders.models import Order
from dispatch_svc.orders.states import Status
from shared.scope import in_named_subtree, in_subtree

# The dashboard statement is built once with named parameters and reused (the subtree is shared.scope's
# named pattern). Untyped parameters take the type of the column they meet (UTC datetimes included).
_FIRST = bindparam("first")
_LAST = bindparam("last")
_START = bindparam("start")
_END = bindparam("end")

COUNT_NAMES = ("submitted", "accepted_in_time", "cancelled", "completed", "evaluations", "satisfied")



def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _count(condition) -> ColumnElement:  # noqa: ANN001 - a SQL condition
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _order_columns() -> list[ColumnElement]:
    """The counts of OrderCounts over the selected orders, labelled by name."""
    return [
        func.count(Order.id).label("submitted"),
        _count(Order.accepted_at.is_not(None) & (Order.accepted_at <= Order.response_due_at)).label("accepted_in_time"),
        _count(Order.status == Status.CANCELLED).label("cancelled"),
        _count(Order.completed_at.is_not(None)).label("completed"),
        _count(Order.satisfaction.is_not(None)).label("evaluations"),
        _count(Order.satisfaction >= 4).label("satisfied"),
    ]


def counts_of(values: dict[str, int]) -> OrderCounts:
    """OrderCounts with the rates worked out from the six counts."""
    submitted, in_time, cancelled, completed, evaluations, satisfied = (int(values[name] or 0) for name in COUNT_NAMES)
    return OrderCounts(
        submitted=submitted,
        accepted_in_time=in_time,
        cancelled=cancelled,
        completed=completed,
        evaluations=evaluations,
        satisfied=satisfied,
        response_rate=_rate(in_time, submitted),
        resolution_rate=_rate(completed, submitted - cancelled),
        satisfaction_rate=_rate(satisfied, evaluations),
    )


def _submitted_in(unit_path: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    return in_subtree(Order.unit_path, unit_path) & (Order.submitted_at >= start) & (Order.submitted_at < end)


async def order_counts(session: AsyncSession, *, unit_path: str, start: datetime, end: datetime) -> OrderCounts:
    """Counts and rates over the orders submitted under `unit_path` in [start, end)."""
    row = (await session.execute(select(*_order_columns()).where(_submitted_in(unit_path, start, end)))).one()
    return counts_of(row._mapping)


async def order_counts_by_child(
    session: AsyncSession, *, unit_path: str, children: Iterable[str], start: datetime, end: datetime
) -> dict[str, OrderCounts]:
    """Counts and rates of each child subtree (by path) over the orders submitted under `unit_path` in [start, end).

    One grouped query by the orders' own unit paths, rolled up to the children here: a child's
    subtree is every path that starts with the child's.
    """
    rows = (
        await session.execute(
            select(Order.unit_path, *_order_columns()).where(_submitted_in(unit_path, start, end)).group_by(Order.unit_path)
        )
    ).all()
    totals = {child: dict.fromkeys(COUNT_NAMES, 0) for child in children}
    for row in rows:
        child = next((c for c in totals if row.unit_path.startswith(c)), None)
        if child is not None:
            for name in COUNT_NAMES:
                totals[child][name] += int(getattr(row, name) or 0)
    return {child: counts_of(values) for child, values in totals.items()}


@cache
def _dashboard() -> Select:
    lectures = (
        select(func.count(Lecture.id).label("lecture_sessions"), func.coalesce(func.sum(Lecture.attendees), 0).label("lecture_attendees"))
        .where(in_named_subtree(Lecture.unit_path), Lecture.held_on >= _FIRST, Lecture.held_on <= _LAST)
        .subquery("lecture_counts")
    )
    activities = (
        select(func.count(Activity.id).label("activities"), func.coalesce(func.sum(Activity.attendees), 0).label("activity_attendees"))
        .where(in_named_subtree(Activity.unit_path), Activity.held_on >= _FIRST, Activity.held_on <= _LAST)
        .subquery("activity_counts")
    )
    submitted = in_named_subtree(Order.unit_path) & (Order.submitted_at >= _START) & (Order.submitted_at < _END)
    orders = select(*_order_columns()).where(submitted).subquery("order_counts")
    joined = lectures.join(activities, true()).join(orders, true())
    return select(*lectures.c, *activities.c, *orders.c).select_from(joined)


async def dashboard_counts(
    session: AsyncSession, *, unit_path: str, first: date, last: date, start: datetime, end: datetime
) -> dict[str, int]:
    """Lectures and attendees, activities and attendees (days first..last) and the order counts ([start, end)), by name."""
    params = {"subtree": unit_path, "first": first, "last": last, "start": start, "end": end}
    row = (await session.execute(_dashboard(), params)).one()
    return {key: int(value or 0) for key, value in row._mapping.items()}
