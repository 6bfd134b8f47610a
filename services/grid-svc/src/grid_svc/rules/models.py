"""The village rules family: every change is a new numbered revision; nothing is overwritten."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, field_validator
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field

from grid_svc.db import GridModel
from shared.columns import UTCDateTime


class RuleRevisionCreate(BaseModel):
    """A new version of a village's rules (the whole text)."""

    title: str = Field(min_length=1, max_length=100, description="e.g. 东村村规民约")
    text: str = Field(min_length=1, max_length=50_000)
    effective_on: date
    note: str | None = Field(None, max_length=500, description="what changed and why")

    @field_validator("title", "text")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class RuleRevision(GridModel, table=True):
    """One version of a village's rules, with who wrote it and whether it was published."""

    __tablename__ = "rule_revisions"
    __table_args__ = (UniqueConstraint("unit_id", "version", name="uq_rule_revisions_unit_version"),)

    id: str = Field(primary_key=True, max_length=26)
    unit_id: str = Field(foreign_key="units.id", max_length=26)
    version: int
    title: str = Field(max_length=100)
    text: str = Field(sa_column=Column(Text, nullable=False))
    effective_on: date
    note: str | None = Field(default=None, max_length=500)
    changed_by: str = Field(max_length=100)
    changed_by_name: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by: str | None = Field(default=None, max_length=100)


class RuleRevisionPublic(BaseModel):
    """A revision as staff see it."""

    id: str
    unit_id: str
    version: int
    title: str
    text: str
    effective_on: date
    note: str | None
    changed_by: str
    changed_by_name: str
    created_at: datetime
    published_at: datetime | None
    is_current: bool = False


class RuleRevisionDiff(BaseModel):
    """What a revision changed against the one before it (unified diff of the text)."""

    unit_id: str
    version: int
    previous_version: int | None
    changed_by_name: str
    note: str | None
    diff: str


class PublishedRules(BaseModel):
    """The public notice: names and text only, nothing about who typed it."""

    village_name: str
    town_name: str | None
    county_name: str | None
    title: str
    text: str
    version: int
    effective_on: date
    published_at: datetime
