"""The rating family: each town's star thresholds and the ratings computed from points."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import JSON, Field

from points_svc.db import PointsModel
from points_svc.periods import RATING_PERIOD_PATTERN
from shared.columns import UTCDateTime, enum_type


class SpanKind(StrEnum):
    """Ratings are by year or by quarter."""

    YEAR = "year"
    QUARTER = "quarter"


# Points needed for 1, 2, 3, 4 and 5 stars when a town has not set its own.
DEFAULT_THRESHOLDS = {SpanKind.YEAR: [20, 40, 60, 80, 100], SpanKind.QUARTER: [5, 10, 15, 20, 25]}


def span_kind_of(period: str) -> SpanKind:
    """'2026' is a year, '2026-Q2' a quarter."""
    return SpanKind.QUARTER if "-Q" in period else SpanKind.YEAR


def stars_for(total: int, thresholds: list[int]) -> int:
    """How many thresholds the total reaches: 0 (no star) to 5."""
    return sum(1 for threshold in thresholds if total >= threshold)


class RatingScheme(PointsModel, table=True):
    """A town's star thresholds for a kind of span."""

    __tablename__ = "rating_schemes"

    town_unit_id: str = Field(primary_key=True, max_length=64)
    span_kind: SpanKind = Field(
        sa_column=Column(enum_type(SpanKind, 16), primary_key=True)
    )
    thresholds: list[int] = Field(sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=100)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SchemeSet(BaseModel):
    """Points needed for 1 to 5 stars, strictly ascending."""

    thresholds: list[int] = PydanticField(min_length=5, max_length=5)

    @field_validator("thresholds")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if any(b <= a for a, b in zip(value, value[1:])) or value[0] <= 0:
            raise ValueError("thresholds must be positive and strictly ascending (1 star … 5 stars)")
        return value


class SchemePublic(BaseModel):
    """A town's thresholds (the defaults when it set none)."""

    town_unit_id: str
    span_kind: SpanKind
    thresholds: list[int]
    is_default: bool


class Rating(PointsModel, table=True):
    """A member's stars for a year or quarter, computed from their points."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("member_id", "period", name="uq_ratings_member_period"),
        Index("ix_ratings_town_period", "town_unit_id", "period", "total_points"),
        Index("ix_ratings_unit_path", "unit_path", postgresql_ops={"unit_path": "text_pattern_ops"}),
    )

    id: str = Field(primary_key=True, max_length=26)
    member_id: str = Field(max_length=64)
    person_id: str = Field(max_length=64)
    name: str = Field(max_length=100)
    town_unit_id: str = Field(max_length=64)
    branch_unit_id: str = Field(max_length=64)
    unit_path: str = Field(max_length=400)
    period: str = Field(max_length=7)
    total_points: int
    stars: int
    rank_in_branch: int
    rank_in_town: int
    thresholds: list[int] = Field(sa_column=Column(JSON, nullable=False))
    computed_by: str = Field(max_length=100)
    computed_at: datetime = Field(sa_type=UTCDateTime)


class RatingCompute(BaseModel):
    """Compute every member's stars in a town for a year or quarter."""

    town_unit_id: str = PydanticField(max_length=64)
    period: str = PydanticField(pattern=RATING_PERIOD_PATTERN, description="2026 or 2026-Q2")


class RatingPublic(BaseModel):
    """A rating as the API returns it."""

    id: str
    member_id: str
    name: str
    town_unit_id: str
    branch_unit_id: str
    period: str
    total_points: int
    stars: int
    rank_in_branch: int
    rank_in_town: int
    thresholds: list[int]
    computed_at: datetime


class RatingRun(BaseModel):
    """What one computation produced."""

    town_unit_id: str
    period: str
    thresholds: list[int]
    members: int
    by_stars: dict[int, int]


class RankingLine(BaseModel):
    """A member's place in a ranking."""

    rank: int
    member_id: str
    name: str
    branch_unit_id: str
    points: int
    entries: int
