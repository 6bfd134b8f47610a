"""The household family: what appraisals need to name a candidate household."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import Index
from sqlmodel import Field

from points_svc.db import PointsModel
from shared.columns import UTCDateTime


class Household(PointsModel, table=True):
    """A household as points-svc knows it, located by its micro grid's path."""

    __tablename__ = "households"
    __table_args__ = (Index("ix_households_unit_path", "unit_path", postgresql_ops={"unit_path": "text_pattern_ops"}),)

    id: str = Field(primary_key=True, max_length=64)
    unit_id: str = Field(max_length=64)
    unit_path: str = Field(max_length=400)
    address: str = Field(max_length=300)
    head_name: str | None = Field(default=None, max_length=100)
    dissolved_on: date | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


class HouseholdPublic(BaseModel):
    """A household as the API returns it."""

    id: str
    unit_id: str
    unit_path: str
    address: str
    head_name: str | None
    dissolved_on: date | None
