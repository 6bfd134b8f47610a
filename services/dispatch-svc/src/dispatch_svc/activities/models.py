"""The activity family: what clients send, what is stored, what is returned."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Column, Index
from sqlmodel import Field as TableField  # table columns; API models use pydantic.Field, which enforces `pattern`

from dispatch_svc.db import DispatchModel
from shared.columns import UTCDateTime, enum_type


class ActivityKind(StrEnum):
    """文化、科技、卫生 — the three things taken to the countryside."""

    CULTURE = "culture"
    SCIENCE = "science"
    HEALTH = "health"


class ActivityCreate(BaseModel):
    """Record a countryside activity that took place."""

    kind: ActivityKind
    unit_id: str = Field(max_length=26, description="where it was held (usually a village's civilisation-practice station)")
    title: str = Field(min_length=1, max_length=200, description="e.g. 义诊进村, 农技培训, 锣鼓表演")
    place: str = Field("", max_length=200)
    held_at: datetime
    attendees: int = Field(ge=0, le=100_000)
    provider_id: str | None = Field(None, max_length=26, description="the provider that brought it, if any")
    description: str = Field("", max_length=4000)

    @field_validator("held_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("held_at needs a timezone offset")
        return value


class Activity(DispatchModel, table=True):
    """A stored activity."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_unit_path_held", "unit_path", "held_on", postgresql_ops={"unit_path": "text_pattern_ops"}),)

    id: str = TableField(primary_key=True, max_length=26)
    kind: ActivityKind = TableField(sa_column=Column(enum_type(ActivityKind, 16), nullable=False))
    unit_id: str = TableField(max_length=26)
    unit_path: str = TableField(max_length=400)
    title: str = TableField(max_length=200)
    place: str = TableField(default="", max_length=200)
    held_at: datetime = TableField(sa_type=UTCDateTime)
    held_on: date = TableField(index=True)
    attendees: int
    provider_id: str | None = TableField(default=None, max_length=26)
    description: str = TableField(default="", max_length=4000)
    recorded_by: str = TableField(max_length=100)
    created_at: datetime = TableField(sa_type=UTCDateTime)


class ActivityPublic(BaseModel):
    """An activity as the API returns it."""

    id: str
    kind: ActivityKind
    unit_id: str
    unit_path: str
    title: str
    place: str
    held_at: datetime
    held_on: date
    attendees: int
    provider_id: str | None
    description: str
    recorded_by: str
    created_at: datetime


class KindCount(BaseModel):
    """Activities and attendees of one kind."""

    activities: int = 0
    attendees: int = 0


class ActivitySummary(BaseModel):
    """Activities under a unit in a period, in total and per kind."""

    unit_id: str
    from_: date | None = Field(serialization_alias="from")
    to: date | None
    activities: int
    attendees: int
    by_kind: dict[ActivityKind, KindCount]
