"""The order family: what clients send, what is stored (with every transition), what is returned."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Column, ForeignKey, Index, String
from sqlmodel import JSON
from sqlmodel import Field as TableField  # table columns; API models use pydantic.Field, which enforces `pattern`

from dispatch_svc.db import DispatchModel
from dispatch_svc.orders.states import Action, Status
from shared.columns import UTCDateTime, enum_type
from shared.pagination import Page


class RequesterKind(StrEnum):
    """Who placed the order."""

    RESIDENT = "resident"
    HOUSEHOLD = "household"
    GROUP = "group"  # a village or villager group


class Channel(StrEnum):
    """How the order reached the platform."""

    APP = "app"
    PHONE = "phone"
    IN_PERSON = "in_person"
    GRID_WORKER = "grid_worker"  # entered by a grid worker on the resident's behalf
    OPEN311 = "open311"


class Escalation(StrEnum):
    """How far up an overdue order has been escalated."""

    NONE = "none"
    VILLAGE = "village"
    TOWN = "town"


class OrderCreate(BaseModel):
    """Place an order: a service type, where, for whom and what is wanted."""

    service_type_id: str | None = Field(None, max_length=26)
    service_type_code: str | None = Field(None, max_length=32, description="alternative to service_type_id")
    unit_id: str | None = Field(None, max_length=26, description="the micro grid (or village for a group); defaults to the household's")
    household_id: str | None = Field(None, max_length=26)
    requester_kind: RequesterKind = RequesterKind.RESIDENT
    requester_name: str = Field("", max_length=100)
    requester_person_id: str | None = Field(None, max_length=26)
    contact_phone: str = Field("", max_length=30, pattern=r"^[0-9+\- ]*$")
    channel: Channel = Channel.APP
    description: str = Field(min_length=1, max_length=4000)
    address: str = Field("", max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    wished_on: date | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    media_url: str | None = Field(None, max_length=500)

    @model_validator(mode="after")
    def _where_and_what(self) -> OrderCreate:
        if not self.service_type_id and not self.service_type_code:
            raise ValueError("service_type_id or service_type_code is required")
        if not self.unit_id and not self.household_id:
            raise ValueError("unit_id or household_id is required")
        return self


class ReasonBody(BaseModel):
    """A reason, required to return, cancel or reject an order."""

    reason: str = Field(min_length=1, max_length=1000)


class NoteBody(BaseModel):
    """An optional note for a transition."""

    note: str = Field("", max_length=1000)


class DispatchBody(BaseModel):
    """Dispatch to a provider or a person; an empty body takes the routing proposal."""

    provider_id: str | None = Field(None, max_length=26)
    assignee_person_id: str | None = Field(None, max_length=26)
    note: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _one_target(self) -> DispatchBody:
        if self.provider_id and self.assignee_person_id:
            raise ValueError("dispatch to a provider or to a person, not both")
        return self


class CompleteBody(BaseModel):
    """Record the order served; `served_by_person_id` defaults to the assignee."""

    served_by_person_id: str | None = Field(None, max_length=26)
    note: str = Field("", max_length=1000)


class EvaluateBody(BaseModel):
    """The resident's rating of the service."""

    satisfaction: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=1000)


class Order(DispatchModel, table=True):
    """A stored order. Instants are UTC; deadlines were reckoned in Asia/Shanghai."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_unit_path", "unit_path", postgresql_ops={"unit_path": "text_pattern_ops"}),
        Index("ix_orders_status_submitted", "status", "submitted_at"),
        Index("ix_orders_provider_dispatched", "provider_id", "dispatched_at"),
    )

    id: str = TableField(primary_key=True, max_length=26)
    number: str = TableField(max_length=32, unique=True)
    service_type_id: str = TableField(sa_column=Column(String(26), ForeignKey("service_types.id"), nullable=False, index=True))
    service_type_code: str = TableField(max_length=32)
    unit_id: str = TableField(max_length=26, index=True)
    unit_path: str = TableField(max_length=400)
    household_id: str | None = TableField(default=None, max_length=26, index=True)
    requester_kind: RequesterKind = TableField(sa_column=Column(enum_type(RequesterKind, 16), nullable=False))
    requester_name: str = TableField(default="", max_length=100)
    requester_person_id: str | None = TableField(default=None, max_length=26)
    contact_phone: str = TableField(default="", max_length=30)
    channel: Channel = TableField(sa_column=Column(enum_type(Channel, 16), nullable=False))
    entered_by: str = TableField(max_length=100, index=True)
    description: str = TableField(max_length=4000)
    address: str = TableField(default="", max_length=300)
    lat: float | None = None
    lng: float | None = None
    wished_on: date | None = None
    attributes: dict[str, Any] = TableField(default_factory=dict, sa_type=JSON)
    media_url: str | None = TableField(default=None, max_length=500)
    status: Status = TableField(sa_column=Column(enum_type(Status, 16), nullable=False))
    status_reason: str | None = TableField(default=None, max_length=1000)
    proposed_person_id: str | None = TableField(default=None, max_length=26)
    proposed_person_name: str | None = TableField(default=None, max_length=100)
    proposed_provider_id: str | None = TableField(default=None, max_length=26)
    provider_id: str | None = TableField(default=None, max_length=26)
    assignee_person_id: str | None = TableField(default=None, max_length=26)
    assignee_name: str | None = TableField(default=None, max_length=100)
    plan_id: str | None = TableField(default=None, max_length=26, index=True)
    session_item_id: str | None = TableField(default=None, max_length=26)
    served_by_person_id: str | None = TableField(default=None, max_length=26)
    served_by_party_member: bool = False
    satisfaction: int | None = None
    evaluation_comment: str | None = TableField(default=None, max_length=1000)
    return_count: int = 0
    submitted_at: datetime = TableField(sa_type=UTCDateTime)
    accepted_at: datetime | None = TableField(default=None, sa_type=UTCDateTime)
    dispatched_at: datetime | None = TableField(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = TableField(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = TableField(default=None, sa_type=UTCDateTime)
    evaluated_at: datetime | None = TableField(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = TableField(default=None, sa_type=UTCDateTime)
    response_due_at: datetime = TableField(sa_type=UTCDateTime)
    completion_due_at: datetime = TableField(sa_type=UTCDateTime)
    response_overdue: bool = False
    completion_overdue: bool = False
    escalation: Escalation = TableField(sa_column=Column(enum_type(Escalation, 16), nullable=False))
    escalated_unit_id: str | None = TableField(default=None, max_length=26)
    escalated_at: datetime | None = TableField(default=None, sa_type=UTCDateTime)
    open311_token: str | None = TableField(default=None, max_length=26, unique=True)
    updated_at: datetime = TableField(sa_type=UTCDateTime)


class OrderTransition(DispatchModel, table=True):
    """One recorded step of an order: who did what, when, from which state to which."""

    __tablename__ = "order_transitions"

    id: str = TableField(primary_key=True, max_length=26)
    order_id: str = TableField(sa_column=Column(String(26), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True))
    action: str = TableField(max_length=20, description="an Action, or submit / escalate")
    from_status: Status | None = TableField(default=None, sa_column=Column(enum_type(Status, 16)))
    to_status: Status = TableField(sa_column=Column(enum_type(Status, 16), nullable=False))
    actor: str = TableField(max_length=100)
    actor_name: str = TableField(default="", max_length=100)
    actor_role: str = TableField(max_length=30)
    reason: str | None = TableField(default=None, max_length=1000)
    at: datetime = TableField(sa_type=UTCDateTime)


class TransitionPublic(BaseModel):
    """One step of an order's history."""

    action: str
    from_status: Status | None
    to_status: Status
    actor: str
    actor_name: str
    actor_role: str
    reason: str | None
    at: datetime


class OrderPublic(BaseModel):
    """An order as the API returns it (the phone masked in lists and for residents)."""

    id: str
    number: str
    service_type_id: str
    service_type_code: str
    unit_id: str
    unit_path: str
    household_id: str | None
    requester_kind: RequesterKind
    requester_name: str
    requester_person_id: str | None
    contact_phone: str | None
    channel: Channel
    entered_by: str
    description: str
    address: str
    lat: float | None
    lng: float | None
    wished_on: date | None
    attributes: dict[str, Any]
    media_url: str | None
    status: Status
    status_reason: str | None
    allowed_actions: list[Action]
    proposed_person_id: str | None
    proposed_person_name: str | None
    proposed_provider_id: str | None
    provider_id: str | None
    assignee_person_id: str | None
    assignee_name: str | None
    plan_id: str | None
    served_by_person_id: str | None
    served_by_party_member: bool
    satisfaction: int | None
    evaluation_comment: str | None
    return_count: int
    submitted_at: datetime
    accepted_at: datetime | None
    dispatched_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    evaluated_at: datetime | None
    closed_at: datetime | None
    response_due_at: datetime
    completion_due_at: datetime
    response_overdue: bool
    completion_overdue: bool
    escalation: Escalation
    escalated_unit_id: str | None
    escalated_at: datetime | None
    updated_at: datetime


class OrderDetail(OrderPublic):
    """An order with its history."""

    transitions: list[TransitionPublic]


class OpenOrders(BaseModel):
    """A unit's open orders and the overdue ones among them: what the gateway's unit overview needs from dispatch-svc, in one answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "open": {"items": [{"id": "01JD…", "number": "20260310-ABC123", "status": "dispatched",
                                        "unit_id": "01JD…", "contact_phone": "138****1234", "completion_overdue": False}],
                             "total": 3, "page": 1, "per_page": 10},
                    "overdue": {"items": [{"id": "01JD…", "number": "20260302-DEF456", "status": "accepted",
                                           "unit_id": "01JD…", "contact_phone": "139****5678", "completion_overdue": True}],
                                "total": 1, "page": 1, "per_page": 10},
                }
            ]
        }
    )

    open: Page[OrderPublic] = Field(
        description="orders not yet served (submitted, accepted, dispatched, in_progress, returned) that the caller may see, "
        "newest first (as `GET /orders?under=&status=<each open status>` answers, phones masked)"
    )
    overdue: Page[OrderPublic] = Field(
        description="the open orders flagged overdue on either clock, newest first "
        "(as `GET /orders?under=&overdue=true&status=<each open status>` answers, phones masked)"
    )
