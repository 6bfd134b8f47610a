"""The rule family: what a town scores, how many points, how often."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlmodel
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import UniqueConstraint

from points_svc.db import PointsModel
from shared.columns import UTCDateTime, enum_column


class Category(StrEnum):
    """What kind of work a rule scores (deduction: points taken away)."""

    RURAL_REVITALIZATION = "rural_revitalization"
    DISPUTE_MEDIATION = "dispute_mediation"
    EPIDEMIC_PREVENTION = "epidemic_prevention"
    LIVING_ENVIRONMENT = "living_environment"
    SERVICE = "service"
    LECTURE = "lecture"
    DEDUCTION = "deduction"


class Trigger(StrEnum):
    """Which deed event records this rule's entry by itself (manual: recorded by hand only)."""

    MANUAL = "manual"
    ORDER_COMPLETED = "order_completed"
    LECTURE_HELD = "lecture_held"
    MEDIATION_CONCLUDED = "mediation_concluded"


class RuleBase(BaseModel):
    """Fields a client sets."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$", description="unique in the town")
    name: str = Field(min_length=1, max_length=100, description="e.g. 参与矛盾纠纷调解")
    points: int = Field(ge=-1000, le=1000, description="points per deed; negative for deductions")
    monthly_cap: int | None = Field(None, ge=1, le=100_000, description="most points (in absolute value) one member may get from this rule in a month")
    evidence_required: bool = False
    active_from: date
    active_until: date | None = None
    trigger_filter: str | None = Field(
        None, max_length=64, description="for event-driven rules: the service type code or case category to match (any when empty)"
    )


def check_rule(category: Category, points: int, active_from: date, active_until: date | None) -> None:
    """Raise ValueError when points, category and dates do not fit together."""
    if points == 0:
        raise ValueError("points must not be zero")
    if category == Category.DEDUCTION and points > 0:
        raise ValueError("a deduction takes points away: its points must be negative")
    if category != Category.DEDUCTION and points < 0:
        raise ValueError("only deductions have negative points")
    if active_until is not None and active_until < active_from:
        raise ValueError("active_until is before active_from")


class RuleCreate(RuleBase):
    """Add a rule to a town's catalogue."""

    town_unit_id: str = Field(max_length=64)
    category: Category
    trigger: Trigger = Trigger.MANUAL

    @model_validator(mode="after")
    def _consistent(self) -> RuleCreate:
        check_rule(self.category, self.points, self.active_from, self.active_until)
        return self


class RuleUpdate(BaseModel):
    """Change a rule; entries already recorded keep the points they were recorded with."""

    name: str | None = Field(None, min_length=1, max_length=100)
    points: int | None = Field(None, ge=-1000, le=1000)
    monthly_cap: int | None = Field(None, ge=1, le=100_000)
    evidence_required: bool | None = None
    active_until: date | None = None
    trigger_filter: str | None = Field(None, max_length=64)


class Rule(PointsModel, table=True):
    """A stored rule of a town."""

    __tablename__ = "rules"
    __table_args__ = (UniqueConstraint("town_unit_id", "code", name="uq_rules_town_code"),)

    code: str = sqlmodel.Field(max_length=32)
    name: str = sqlmodel.Field(max_length=100)
    points: int
    monthly_cap: int | None = None
    evidence_required: bool = False
    active_from: date
    active_until: date | None = None
    trigger_filter: str | None = sqlmodel.Field(None, max_length=64)
    id: str = sqlmodel.Field(primary_key=True, max_length=26)
    town_unit_id: str = sqlmodel.Field(max_length=64, index=True)
    town_path: str = sqlmodel.Field(max_length=400)
    category: Category = sqlmodel.Field(sa_column=enum_column(Category, length=32))
    trigger: Trigger = sqlmodel.Field(sa_column=enum_column(Trigger, length=32))
    created_by: str = sqlmodel.Field(max_length=100)
    created_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)
    updated_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)


class RulePublic(BaseModel):
    """A rule as the API returns it."""

    id: str
    town_unit_id: str
    code: str
    name: str
    category: Category
    points: int
    monthly_cap: int | None
    evidence_required: bool
    active_from: date
    active_until: date | None
    trigger: Trigger
    trigger_filter: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
