"""The unit family: what clients send, what is stored, what is returned."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlmodel
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Column, Index, Integer, UniqueConstraint
from sqlmodel import JSON

from grid_svc.db import GridModel
from shared.columns import UTCDateTime, enum_column


class Level(StrEnum):
    """The rank of a unit in the tree, top to bottom."""

    COUNTY = "county"
    TOWN = "town"
    VILLAGE = "village"
    GRID = "grid"
    SMALL_GRID = "small_grid"
    MICRO_GRID = "micro_grid"

    @property
    def child(self) -> Level | None:
        """The level a child of this level must have (None below micro grids)."""
        order = list(Level)
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"  # no ".": it joins codes into full codes


class UnitBase(BaseModel):
    """Fields a client sets."""

    model_config = ConfigDict(from_attributes=True)

    code: str = Field(min_length=1, max_length=32, pattern=CODE_PATTERN, description="unique among siblings")
    name: str = Field(min_length=1, max_length=100, description="Chinese name, e.g. 禹王镇")


class UnitCreate(UnitBase):
    """Add a unit: a county at the root, or the next level under a parent."""

    level: Level
    parent_id: str | None = Field(None, max_length=26)
    boundary: dict[str, Any] | None = Field(None, description="GeoJSON Polygon or MultiPolygon (lng, lat)")
    established_on: date | None = Field(None, description="first day of the unit's placement history (default today)")

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value


class UnitRename(BaseModel):
    """Give a unit a new name."""

    name: str = Field(min_length=1, max_length=100)


class UnitMove(BaseModel):
    """Re-parent a unit (its level must still be the next level of the new parent's)."""

    parent_id: str = Field(max_length=26)
    moved_on: date | None = Field(None, description="day the re-gridding takes effect (default today, Asia/Shanghai)")


class UnitBatchItem(UnitCreate):
    """One unit of a batch: its parent is an existing unit (`parent_id`) or an earlier item (`parent_ref`)."""

    ref: str | None = Field(None, max_length=64, description="a name later items use as parent_ref")
    parent_ref: str | None = Field(None, max_length=64)


class UnitBatch(BaseModel):
    """Units created together in one transaction (all or nothing), in order."""

    units: list[UnitBatchItem] = Field(min_length=1, max_length=5000)


class UnitBoundary(BaseModel):
    """Set or clear a unit's boundary."""

    boundary: dict[str, Any] | None


class Unit(GridModel, table=True):
    """A stored unit. `path` is the materialised path of ids from the root (indexed)."""

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("parent_id", "code", name="uq_units_parent_code"),
        Index("ix_units_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
        Index("ix_units_level_path", "level", "path", postgresql_ops={"path": "text_pattern_ops"}),
        Index("ix_units_bbox", "min_lng", "max_lng"),
    )

    code: str = sqlmodel.Field(max_length=32)
    name: str = sqlmodel.Field(max_length=100)
    id: str = sqlmodel.Field(primary_key=True, max_length=26)
    level: Level = sqlmodel.Field(
        sa_column=enum_column(Level, length=16)
    )
    parent_id: str | None = sqlmodel.Field(default=None, foreign_key="units.id", max_length=26)
    path: str = sqlmodel.Field(max_length=400)
    full_code: str = sqlmodel.Field(max_length=300, index=True)
    boundary: dict[str, Any] | None = sqlmodel.Field(default=None, sa_column=Column(JSON))
    centroid_lng: float | None = None
    centroid_lat: float | None = None
    # The boundary's bounding box lets `locate` pick candidates from an index before shapely tests them.
    min_lng: float | None = None
    min_lat: float | None = None
    max_lng: float | None = None
    max_lat: float | None = None
    created_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)
    updated_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)
    retired_at: datetime | None = sqlmodel.Field(default=None, sa_type=UTCDateTime)


class UnitPlacement(GridModel, table=True):
    """Where a unit sat in the tree during [starts_on, ends_on): re-gridding keeps history."""

    __tablename__ = "unit_placements"
    __table_args__ = (Index("ix_unit_placements_unit", "unit_id", "starts_on"),)

    id: int | None = sqlmodel.Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    unit_id: str = sqlmodel.Field(foreign_key="units.id", max_length=26)
    parent_id: str | None = sqlmodel.Field(default=None, max_length=26)
    path: str = sqlmodel.Field(max_length=400)
    full_code: str = sqlmodel.Field(max_length=300)
    starts_on: date
    ends_on: date | None = None


class UnitTally(GridModel, table=True):
    """How many active units of a level lie under a unit, kept with every create, move and retirement
    (`grid_svc.units.tallies`): a subtree's counts are a few rows read by key, not a count of every unit below,
    which grows with the tree (a county's 30,000 units, a prefecture's 100,000). Each count is split over a few
    slots, summed when read: writers creating units side by side add to different rows of their ancestors."""

    __tablename__ = "unit_tallies"

    unit_id: str = sqlmodel.Field(primary_key=True, max_length=26, description="the unit the counted units lie under")
    level: str = sqlmodel.Field(primary_key=True, max_length=16, description="the counted units' level")
    slot: int = sqlmodel.Field(primary_key=True, description="which part of the count (the count is their sum)")
    units: int


class UnitPlacementPublic(BaseModel):
    """One period of a unit's position in the tree."""

    unit_id: str
    parent_id: str | None
    path: str
    full_code: str
    starts_on: date
    ends_on: date | None


class UnitPublic(UnitBase):
    """A unit as the API returns it."""

    id: str
    level: Level
    parent_id: str | None
    path: str
    full_code: str
    centroid_lng: float | None
    centroid_lat: float | None
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None


class UnitDetail(UnitPublic):
    """A unit with its boundary."""

    boundary: dict[str, Any] | None


class LevelCounts(BaseModel):
    """How many active units of each level lie under a unit (the unit itself excluded)."""

    unit_id: str
    county: int = 0
    town: int = 0
    village: int = 0
    grid: int = 0
    small_grid: int = 0
    micro_grid: int = 0
