"""The lecture family: what clients send, what is stored, what is returned."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Column, ForeignKey, Index, String
from sqlmodel import JSON
from sqlmodel import Field as TableField  # table columns; API models use pydantic.Field, which enforces `pattern`

from dispatch_svc.db import DispatchModel
from shared.columns import UTCDateTime


class LectureCreate(BaseModel):
    """Record a micro-lecture session that took place."""

    unit_id: str = Field(max_length=26, description="where it was held (village, grid …)")
    theme: str = Field(min_length=1, max_length=200, description="topic, e.g. 防范电信诈骗")
    place: str = Field("", max_length=200, description="e.g. 田间地头, 生产车间")
    held_at: datetime = Field(description="start, with timezone offset")
    duration_minutes: int | None = Field(None, ge=1, le=24 * 60)
    lecturer_person_ids: list[str] = Field(min_length=1, max_length=20, description="people of the grid registry")
    attendees: int = Field(ge=0, le=100_000, description="head count")
    roster: list[str] | None = Field(None, max_length=5000, description="optional: person ids of attendees")
    description: str = Field("", max_length=4000)

    @field_validator("held_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("held_at needs a timezone offset")
        return value

    @field_validator("lecturer_person_ids", "roster")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(value)) if value is not None else None


class Lecture(DispatchModel, table=True):
    """A stored lecture session."""

    __tablename__ = "lectures"
    __table_args__ = (Index("ix_lectures_unit_path_held", "unit_path", "held_on", postgresql_ops={"unit_path": "text_pattern_ops"}),)

    id: str = TableField(primary_key=True, max_length=26)
    unit_id: str = TableField(max_length=26)
    unit_path: str = TableField(max_length=400)
    theme: str = TableField(max_length=200)
    place: str = TableField(default="", max_length=200)
    held_at: datetime = TableField(sa_type=UTCDateTime)
    held_on: date = TableField(index=True)
    duration_minutes: int | None = None
    attendees: int
    roster: list[str] | None = TableField(default=None, sa_type=JSON)
    description: str = TableField(default="", max_length=4000)
    recorded_by: str = TableField(max_length=100)
    created_at: datetime = TableField(sa_type=UTCDateTime)


class LectureLecturer(DispatchModel, table=True):
    """A lecturer of a session (the lecturer pool is everyone who ever gave one)."""

    __tablename__ = "lecture_lecturers"

    lecture_id: str = TableField(sa_column=Column(String(26), ForeignKey("lectures.id", ondelete="CASCADE"), primary_key=True))
    person_id: str = TableField(sa_column=Column(String(26), primary_key=True, index=True))
    name: str = TableField(max_length=100)
    position: int = 0


class LecturerPublic(BaseModel):
    """A lecturer of one session."""

    person_id: str
    name: str


class LecturePublic(BaseModel):
    """A lecture session as the API returns it."""

    id: str
    unit_id: str
    unit_path: str
    theme: str
    place: str
    held_at: datetime
    held_on: date
    duration_minutes: int | None
    lecturers: list[LecturerPublic]
    attendees: int
    roster: list[str] | None
    description: str
    recorded_by: str
    created_at: datetime


class LecturerStats(BaseModel):
    """One lecturer of the pool and their sessions in a period."""

    person_id: str
    name: str
    sessions: int
    attendees: int


class LectureSummary(BaseModel):
    """Sessions and attendees under a unit in a period (the report's 32 sessions, 1000+ attendees)."""

    unit_id: str
    from_: date | None = Field(serialization_alias="from")
    to: date | None
    sessions: int
    attendees: int
    lecturers: int
