"""Events published by dispatch-svc on `dispatch.events` (points credits deeds from them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from shared.events.base import EVENT_TYPE_PREFIX, DomainEvent
from shared.events.topics import DISPATCH_TOPIC

_P = f"{EVENT_TYPE_PREFIX}.dispatch"


class DispatchEvent(DomainEvent):
    """Base of dispatch-svc's events."""

    topic: ClassVar[str] = DISPATCH_TOPIC


class OrderEvent(DispatchEvent):
    """An event about one resident's order."""

    subject_field: ClassVar[str] = "order_id"
    order_id: str


class OrderSubmitted(OrderEvent):
    """A resident, household or group ordered a service (or a grid worker did on their behalf)."""

    event_type: ClassVar[str] = f"{_P}.order.submitted.v1"
    number: str
    service_type_code: str
    unit_id: str
    unit_path: str
    household_id: str | None = None
    channel: str
    submitted_at: datetime


class OrderDispatched(OrderEvent):
    """The order was dispatched to a provider or a person."""

    event_type: ClassVar[str] = f"{_P}.order.dispatched.v1"
    unit_id: str
    provider_id: str | None = None
    assignee_person_id: str | None = None
    dispatched_at: datetime


class OrderReturned(OrderEvent):
    """The provider declined; the order waits for another dispatch."""

    event_type: ClassVar[str] = f"{_P}.order.returned.v1"
    unit_id: str
    reason: str
    returned_at: datetime


class OrderCompleted(OrderEvent):
    """The order was served. Who served it lets points-svc credit a party member's deed."""

    event_type: ClassVar[str] = f"{_P}.order.completed.v1"
    number: str
    service_type_code: str
    unit_id: str
    unit_path: str
    provider_id: str | None = None
    served_by_person_id: str | None = None
    served_by_party_member: bool = False
    completed_at: datetime
    occurred_on: date


class OrderEvaluated(OrderEvent):
    """The resident rated the service (1–5)."""

    event_type: ClassVar[str] = f"{_P}.order.evaluated.v1"
    unit_id: str
    satisfaction: int
    evaluated_at: datetime


class OrderOverdue(OrderEvent):
    """A response or completion deadline passed; the order was escalated."""

    event_type: ClassVar[str] = f"{_P}.order.overdue.v1"
    unit_id: str
    unit_path: str
    clock: Literal["response", "completion"]
    escalated_to: Literal["village", "town"]
    due_at: datetime


class LectureHeld(DispatchEvent):
    """A micro lecture took place; each lecturer who is a party member earns a deed."""

    event_type: ClassVar[str] = f"{_P}.lecture.held.v1"
    subject_field: ClassVar[str] = "lecture_id"
    lecture_id: str
    unit_id: str
    unit_path: str
    theme: str
    held_on: date
    lecturer_person_ids: list[str]
    attendees: int


class ActivityHeld(DispatchEvent):
    """A countryside activity (culture, science & technology, health) took place."""

    event_type: ClassVar[str] = f"{_P}.activity.held.v1"
    subject_field: ClassVar[str] = "activity_id"
    activity_id: str
    kind: Literal["culture", "science", "health"]
    unit_id: str
    unit_path: str
    title: str
    held_on: date
    attendees: int
