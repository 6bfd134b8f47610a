"""The deed family: every deed event received, and what became of it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from points_svc.db import PointsModel
from points_svc.ledger.models import SourceKind
from points_svc.rules.models import Trigger
from shared.columns import UTCDateTime, enum_column


class DeedStatus(StrEnum):
    """Credited, or why not (yet)."""

    CREDITED = "credited"
    WAITING_MEMBER = "waiting_member"  # the person is not on the roster yet: credited when MemberJoined arrives
    NO_RULE = "no_rule"  # the member's town has no active rule for this kind of deed
    REJECTED = "rejected"  # the rule refused it (monthly cap, inactive, …): see detail



class Deed(PointsModel, table=True):
    """A deed one event reported for one person. (event id, person) is the idempotency key."""

    __tablename__ = "deeds"
    __table_args__ = (
        UniqueConstraint("event_id", "person_id", name="uq_deeds_event_person"),
        Index("ix_deeds_person_status", "person_id", "status"),
        Index("ix_deeds_unit_path", "unit_path", postgresql_ops={"unit_path": "text_pattern_ops"}),
    )

    id: str = Field(primary_key=True, max_length=26)
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=200)
    person_id: str = Field(max_length=64)
    trigger: Trigger = Field(sa_column=enum_column(Trigger, length=32))
    trigger_value: str | None = Field(default=None, max_length=64)
    source_kind: SourceKind = Field(sa_column=enum_column(SourceKind, length=32))
    source_ref: str = Field(max_length=64)
    unit_path: str = Field(max_length=400, description="where the deed happened")
    occurred_on: date
    description: str = Field(max_length=500)
    status: DeedStatus = Field(sa_column=enum_column(DeedStatus, length=32))
    detail: str | None = Field(default=None, max_length=500)
    entry_id: str | None = Field(default=None, max_length=26)
    received_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class DeedPublic(BaseModel):
    """A received deed as the API returns it."""

    id: str
    event_id: str
    event_type: str
    person_id: str
    trigger: Trigger
    trigger_value: str | None
    source_kind: SourceKind
    source_ref: str
    unit_path: str
    occurred_on: date
    description: str
    status: DeedStatus
    detail: str | None
    entry_id: str | None
    received_at: datetime
    updated_at: datetime
