"""The household family: what clients send, what is stored, what is returned."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlmodel
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Column, Index, Integer, UniqueConstraint

from grid_svc.db import GridModel
from shared.columns import UTCDateTime

HOUSEHOLD_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"


class HouseholdTag(StrEnum):
    """Circumstances the grid keeps an eye on."""

    ELDERLY_ALONE = "elderly_alone"  # 独居老人
    LOW_INCOME = "low_income"  # 低保户
    LEFT_BEHIND_CHILD = "left_behind_child"  # 留守儿童
    DISABLED = "disabled"  # 残疾人
    FIVE_GUARANTEE = "five_guarantee"  # 五保户
    VETERAN = "veteran"  # 退役军人
    POVERTY_MONITORED = "poverty_monitored"  # 防返贫监测户
    SPECIAL_CARE = "special_care"  # 优抚对象


def tags_to_text(tags: list[HouseholdTag] | list[str]) -> str:
    """Store tags as ',a,b,' so one tag is found with a portable LIKE '%,a,%'."""
    unique = sorted({str(t) for t in tags})
    return "," + ",".join(unique) + "," if unique else ""


def tags_from_text(text: str) -> list[str]:
    """The stored tag text back as a sorted list."""
    return [t for t in text.split(",") if t]


class HouseholdBase(BaseModel):
    """Fields a client sets."""

    model_config = ConfigDict(from_attributes=True)

    code: str = Field(min_length=1, max_length=40, pattern=HOUSEHOLD_CODE_PATTERN, description="household number, unique")
    address: str = Field(min_length=1, max_length=200)
    size: int = Field(1, ge=1, le=50, description="people living in the household")


class HouseholdCreate(HouseholdBase):
    """Register a household in a micro grid."""

    unit_id: str = Field(max_length=26, description="the micro grid")
    tags: list[HouseholdTag] = Field(default_factory=list)
    registered_on: date | None = Field(None, description="default today (Asia/Shanghai)")

    @field_validator("address")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("address must not be blank")
        return value


class HouseholdUpdate(BaseModel):
    """Change a household's address, size, tags or head (omitted fields stay)."""

    address: str | None = Field(None, min_length=1, max_length=200)
    size: int | None = Field(None, ge=1, le=50)
    tags: list[HouseholdTag] | None = None
    head_person_id: str | None = Field(None, max_length=26, description="must be a current member")


class HouseholdMove(BaseModel):
    """Move a household to another micro grid from `moved_on`."""

    unit_id: str = Field(max_length=26)
    moved_on: date | None = Field(None, description="default today (Asia/Shanghai)")


class HouseholdDissolve(BaseModel):
    """Close a household (everyone moved away or deceased)."""

    dissolved_on: date | None = None


class Household(GridModel, table=True):
    """A stored household. `unit_id` is its current micro grid; placements keep the past ones.

    `unit_path` is that micro grid's materialised path, kept with every move of the household or of a unit above
    it: a subtree's households are one index range, counted without visiting the units. `town_unit_id` is the
    path's town, kept with it: a town's households are read in code order from their own index.
    """

    __tablename__ = "households"
    __table_args__ = (
        UniqueConstraint("code", name="uq_households_code"),
        Index("ix_households_unit", "unit_id", "code"),
        Index("ix_households_unit_path", "unit_path", "dissolved_on", postgresql_ops={"unit_path": "text_pattern_ops"}),
        # Its leaves hold dissolved_on on PostgreSQL: a town's count reads the index alone.
        Index("ix_households_town_code", "town_unit_id", "code", "id", postgresql_include=["dissolved_on"]),
    )

    code: str = sqlmodel.Field(max_length=40)
    address: str = sqlmodel.Field(max_length=200)
    size: int = 1
    id: str = sqlmodel.Field(primary_key=True, max_length=26)
    unit_id: str = sqlmodel.Field(foreign_key="units.id", max_length=26)
    unit_path: str = sqlmodel.Field(max_length=400)
    town_unit_id: str | None = sqlmodel.Field(default=None, max_length=26)
    # No foreign key: people point at households through membership, and a cycle of keys would not drop cleanly.
    head_person_id: str | None = sqlmodel.Field(default=None, max_length=26)
    tags_text: str = sqlmodel.Field(default="", max_length=400)
    registered_on: date
    dissolved_on: date | None = None
    created_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)
    updated_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)


class HouseholdTally(GridModel, table=True):
    """How many households of a micro grid are not dissolved, kept with every registration, move and dissolution
    (`grid_svc.households.tallies`) and with every move of a unit above it: a list's total is the sum of a few
    tallies instead of a count of every household it spans, which grows with the county."""

    __tablename__ = "household_tallies"
    __table_args__ = (
        Index("ix_household_tallies_path", "unit_path", postgresql_ops={"unit_path": "text_pattern_ops"}),
        Index("ix_household_tallies_town", "town_unit_id"),
    )

    unit_path: str = sqlmodel.Field(primary_key=True, max_length=400, description="the households' unit_path")
    town_unit_id: str | None = sqlmodel.Field(default=None, max_length=26, description="the households' town_unit_id")
    households: int


class HouseholdPlacement(GridModel, table=True):
    """The micro grid a household belonged to during [starts_on, ends_on)."""

    __tablename__ = "household_placements"
    __table_args__ = (Index("ix_household_placements_household", "household_id", "starts_on"),)

    id: int | None = sqlmodel.Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    household_id: str = sqlmodel.Field(foreign_key="households.id", max_length=26)
    unit_id: str = sqlmodel.Field(foreign_key="units.id", max_length=26)
    starts_on: date
    ends_on: date | None = None


class HouseholdPublic(HouseholdBase):
    """A household as the API returns it."""

    id: str
    unit_id: str
    head_person_id: str | None
    head_name: str | None = None
    # Stored rows carry the tags as text (`tags_text`): a page of rows validates straight into this model.
    tags: list[str] = Field(validation_alias=AliasChoices("tags_text", "tags"))
    registered_on: date
    dissolved_on: date | None
    created_at: datetime
    updated_at: datetime

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_from_text(cls, value: object) -> object:
        return tags_from_text(value) if isinstance(value, str) else value


class HouseholdPlacementPublic(BaseModel):
    """One period of a household in a micro grid."""

    household_id: str
    unit_id: str
    starts_on: date
    ends_on: date | None


class HouseholdLocation(BaseModel):
    """Where a household was on a day: its micro grid and that grid's place in the tree then."""

    household_id: str
    on: date
    unit_id: str
    unit_path: str
    full_code: str
    ancestor_ids: list[str]
