"""The notice family: a branch's month on public notice, its ranked lines and objections."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import JSON, Field

from points_svc.db import PointsModel
from shared.columns import UTCDateTime, enum_column
from shared.local_time import PERIOD_PATTERN


class NoticeStatus(StrEnum):
    """An open notice takes objections; a closed one has frozen its month."""

    OPEN = "open"
    CLOSED = "closed"


class ObjectionStatus(StrEnum):
    """Where an objection stands."""

    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Notice(PointsModel, table=True):
    """One branch's month on notice. Its lines are a snapshot taken when it opened."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("branch_unit_id", "period", name="uq_notices_branch_period"),
        Index("ix_notices_branch_path", "branch_path", postgresql_ops={"branch_path": "text_pattern_ops"}),
    )

    id: str = Field(primary_key=True, max_length=26)
    branch_unit_id: str = Field(max_length=64)
    branch_path: str = Field(max_length=400)
    branch_name: str = Field(max_length=100)
    period: str = Field(max_length=7, index=True)
    status: NoticeStatus = Field(sa_column=enum_column(NoticeStatus, length=16))
    objection_working_days: int
    objection_deadline: datetime = Field(sa_type=UTCDateTime)
    members: int
    total_points: int
    opened_by: str = Field(max_length=100)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=100)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NoticeLine(PointsModel, table=True):
    """One member's line on a notice: rank, points and the entries behind them (frozen at opening)."""

    __tablename__ = "notice_lines"

    notice_id: str = Field(primary_key=True, foreign_key="notices.id", max_length=26)
    member_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    rank: int
    points: int
    final_points: int | None = Field(default=None, description="after upheld objections, set at closing")
    entries: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Objection(PointsModel, table=True):
    """An objection against one entry of an open notice."""

    __tablename__ = "objections"

    id: str = Field(primary_key=True, max_length=26)
    notice_id: str = Field(foreign_key="notices.id", max_length=26, index=True)
    entry_id: str = Field(foreign_key="entries.id", max_length=26)
    reason: str = Field(max_length=1000)
    raised_by: str = Field(max_length=100)
    raised_at: datetime = Field(sa_type=UTCDateTime)
    status: ObjectionStatus = Field(sa_column=enum_column(ObjectionStatus, length=16))
    resolution: str | None = Field(default=None, max_length=1000)
    resolved_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reversal_entry_id: str | None = Field(default=None, max_length=26)


class NoticeOpen(BaseModel):
    """Put a branch's month on notice."""

    branch_unit_id: str = PydanticField(max_length=64)
    period: str = PydanticField(pattern=PERIOD_PATTERN, description="YYYY-MM (Asia/Shanghai)")
    objection_working_days: int | None = PydanticField(
        None, ge=0, le=30, description="working days (Mon–Fri) for objections; the service default when empty"
    )


class ObjectionCreate(BaseModel):
    """Object to one entry of an open notice."""

    entry_id: str = PydanticField(max_length=26)
    reason: str = PydanticField(min_length=1, max_length=1000)


class ObjectionResolve(BaseModel):
    """The branch's decision: upheld reverses the entry, rejected keeps it."""

    decision: ObjectionStatus = PydanticField(description="upheld or rejected")
    reason: str = PydanticField(min_length=1, max_length=1000)


class EntrySummary(BaseModel):
    """One entry as a notice shows it."""

    entry_id: str
    rule_name: str
    category: str
    points: int
    occurred_on: str
    description: str
    reverses_entry_id: str | None = None


class NoticeLinePublic(BaseModel):
    """A member's line on a notice."""

    member_id: str
    name: str
    rank: int
    points: int
    final_points: int | None
    entries: list[EntrySummary]


class ObjectionPublic(BaseModel):
    """An objection as the API returns it."""

    id: str
    notice_id: str
    entry_id: str
    reason: str
    raised_by: str
    raised_at: datetime
    status: ObjectionStatus
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    reversal_entry_id: str | None


class NoticePublic(BaseModel):
    """A notice without its lines."""

    id: str
    branch_unit_id: str
    branch_name: str
    period: str
    status: NoticeStatus
    objection_working_days: int
    objection_deadline: datetime
    members: int
    total_points: int
    opened_by: str
    opened_at: datetime
    closed_by: str | None
    closed_at: datetime | None


class NoticeDetail(NoticePublic):
    """A notice with its ranked lines and objections."""

    lines: list[NoticeLinePublic]
    objections: list[ObjectionPublic]


class PublicNoticeLine(BaseModel):
    """A line of the printable notice: name, rank, points, what for."""

    rank: int
    name: str
    points: int
    entries: list[str] = PydanticField(description="'rule name +N' per entry")


class PublicNotice(BaseModel):
    """The printable notice for the gateway's public page: names and points only."""

    branch_name: str
    period: str
    status: NoticeStatus
    opened_at: datetime
    objection_deadline: datetime
    total_points: int
    lines: list[PublicNoticeLine]
