"""The plan family: the month's demand, plans and their items."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import Column, ForeignKey, String
from sqlmodel import JSON
from sqlmodel import Field as TableField  # table columns; API models use pydantic.Field, which enforces `pattern`

from dispatch_svc.clock import MONTH_PATTERN
from dispatch_svc.db import DispatchModel
from shared.columns import UTCDateTime, enum_type


class DemandGroup(BaseModel):
    """Orders of one service type from one village in the month."""

    service_type_id: str
    service_type_code: str
    service_type_name: str
    village_id: str | None
    village_name: str | None
    orders: int
    awaiting_dispatch: int
    awaiting_order_ids: list[str]


class Demand(BaseModel):
    """The month's demand under a unit, grouped by service type and village."""

    unit_id: str
    month: str
    orders: int
    awaiting_dispatch: int
    groups: list[DemandGroup]


class PlanStatus(StrEnum):
    """A plan is drafted, then executed (its orders dispatched) or cancelled."""

    DRAFT = "draft"
    EXECUTED = "executed"
    CANCELLED = "cancelled"


class ItemKind(StrEnum):
    """A batch of orders each served on its own, or one group session serving them all (e.g. a training)."""

    BATCH = "batch"
    SESSION = "session"


class PlanCreate(BaseModel):
    """Start a plan for a unit and month."""

    unit_id: str = Field(max_length=26)
    month: str = Field(pattern=MONTH_PATTERN)
    title: str = Field(min_length=1, max_length=200)


class PlanItemCreate(BaseModel):
    """Assign orders of one service type to a provider (or a person), as a batch or a group session."""

    kind: ItemKind = ItemKind.BATCH
    service_type_id: str = Field(max_length=26)
    provider_id: str | None = Field(None, max_length=26)
    assignee_person_id: str | None = Field(None, max_length=26)
    order_ids: list[str] = Field(min_length=1, max_length=500)
    session_title: str | None = Field(None, max_length=200, description="a group session's title, e.g. 应急救护培训（禹王村）")
    session_at: datetime | None = None
    session_place: str | None = Field(None, max_length=200)
    note: str = Field("", max_length=1000)

    @field_validator("order_ids")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _target(self) -> PlanItemCreate:
        if bool(self.provider_id) == bool(self.assignee_person_id):
            raise ValueError("name exactly one of provider_id and assignee_person_id")
        if self.kind == ItemKind.SESSION and not self.session_title:
            raise ValueError("a group session needs session_title")
        if self.session_at is not None and self.session_at.tzinfo is None:
            raise ValueError("session_at needs a timezone offset")
        return self


class Plan(DispatchModel, table=True):
    """A stored plan."""

    __tablename__ = "plans"

    id: str = TableField(primary_key=True, max_length=26)
    unit_id: str = TableField(max_length=26)
    unit_path: str = TableField(max_length=400, index=True)
    month: str = TableField(max_length=7, index=True)
    title: str = TableField(max_length=200)
    status: PlanStatus = TableField(sa_column=Column(enum_type(PlanStatus, 16), nullable=False))
    created_by: str = TableField(max_length=100)
    created_at: datetime = TableField(sa_type=UTCDateTime)
    executed_by: str | None = TableField(default=None, max_length=100)
    executed_at: datetime | None = TableField(default=None, sa_type=UTCDateTime)


class PlanItem(DispatchModel, table=True):
    """One assignment of a plan."""

    __tablename__ = "plan_items"

    id: str = TableField(primary_key=True, max_length=26)
    plan_id: str = TableField(sa_column=Column(String(26), ForeignKey("plans.id", ondelete="CASCADE"), nullable=False, index=True))
    position: int
    kind: ItemKind = TableField(sa_column=Column(enum_type(ItemKind, 16), nullable=False))
    service_type_id: str = TableField(max_length=26)
    provider_id: str | None = TableField(default=None, max_length=26)
    assignee_person_id: str | None = TableField(default=None, max_length=26)
    order_ids: list[str] = TableField(default_factory=list, sa_type=JSON)
    session_title: str | None = TableField(default=None, max_length=200)
    session_at: datetime | None = TableField(default=None, sa_type=UTCDateTime)
    session_place: str | None = TableField(default=None, max_length=200)
    note: str = TableField(default="", max_length=1000)


class PlanItemPublic(BaseModel):
    """An item as the API returns it."""

    id: str
    position: int
    kind: ItemKind
    service_type_id: str
    provider_id: str | None
    assignee_person_id: str | None
    order_ids: list[str]
    session_title: str | None
    session_at: datetime | None
    session_place: str | None
    note: str


class PlanPublic(BaseModel):
    """A plan with its items."""

    id: str
    unit_id: str
    unit_path: str
    month: str
    title: str
    status: PlanStatus
    created_by: str
    created_at: datetime
    executed_by: str | None
    executed_at: datetime | None
    items: list[PlanItemPublic]


class Proposal(BaseModel):
    """What proposing from demand added, and the orders still to assign by hand."""

    plan_id: str
    added: list[PlanItemPublic]
    unassigned_order_ids: list[str]
