"""Counting orders under a unit in a period, and the three rates (definitions on OrderCounts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.figures.models import OrderCounts
from dispatch_svc.orders.models import Order
from dispatch_svc.orders.states import Status
from shared.scope import in_subtree


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _count(condition) -> object:  # noqa: ANN001 - a SQL condition
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def order_counts(session: AsyncSession, *, unit_path: str, start: datetime, end: datetime) -> OrderCounts:
    """Counts and rates over the orders submitted under `unit_path` in [start, end)."""
    row = (
        await session.execute(
            select(
                func.count(Order.id),
                _count(Order.accepted_at.is_not(None) & (Order.accepted_at <= Order.response_due_at)),
                _count(Order.status == Status.CANCELLED),
                _count(Order.completed_at.is_not(None)),
                _count(Order.satisfaction.is_not(None)),
                _count(Order.satisfaction >= 4),
            ).where(in_subtree(Order.unit_path, unit_path), Order.submitted_at >= start, Order.submitted_at < end)
        )
    ).one()
    submitted, in_time, cancelled, completed, evaluations, satisfied = (int(v) for v in row)
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
