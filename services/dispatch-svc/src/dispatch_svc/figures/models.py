"""What the figures endpoints return."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class OrderCounts(BaseModel):
    """Counts over the orders submitted under a unit in a period, and the three rates from them.

    - response_rate = orders accepted by their response deadline / orders submitted
    - resolution_rate = orders completed (evaluated included) / orders submitted, cancelled ones excluded
    - satisfaction_rate = evaluations rating 4 or 5 / evaluations

    A rate is null when its denominator is zero.
    """

    submitted: int
    accepted_in_time: int
    cancelled: int
    completed: int
    evaluations: int
    satisfied: int
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None


class UnitRates(OrderCounts):
    """The rates of one unit in one month."""

    unit_id: str
    unit_name: str
    month: str


class RatesReport(UnitRates):
    """A unit's rates in a month, with each child unit's beside them."""

    children: list[UnitRates]


class Figures(BaseModel):
    """What dispatch-svc contributes to a unit's dashboard for a period (days inclusive, Asia/Shanghai)."""

    unit_id: str
    from_: date = Field(serialization_alias="from")
    to: date
    lecture_sessions: int
    lecture_attendees: int
    activities: int
    activity_attendees: int
    orders: int
    orders_completed: int
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
