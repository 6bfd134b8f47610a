"""The liaison family."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Index
from sqlmodel import Field

from grid_svc.db import GridModel
from shared.columns import UTCDateTime, enum_column


class LiaisonKind(StrEnum):
    """Who is linked to what."""

    MEMBER_HOUSEHOLD = "member_household"  # 党员联系户
    CADRE_GRID = "cadre_grid"  # 片长/包村干部 ↔ 网格
    CADRE_HOUSEHOLD = "cadre_household"  # 片长/包村干部 ↔ 户


class LiaisonCreate(BaseModel):
    """Link a party member to a household, or a cadre to a grid or household.

    member_household: `member_id` + `household_id`; cadre_grid: `person_id` + `unit_id` (a grid);
    cadre_household: `person_id` + `household_id`.
    """

    kind: LiaisonKind
    member_id: str | None = Field(None, max_length=26)
    person_id: str | None = Field(None, max_length=26)
    household_id: str | None = Field(None, max_length=26)
    unit_id: str | None = Field(None, max_length=26)
    starts_on: date | None = Field(None, description="default today (Asia/Shanghai)")


class LiaisonEnd(BaseModel):
    """End a liaison link."""

    ended_on: date | None = Field(None, description="default today (Asia/Shanghai)")


class Liaison(GridModel, table=True):
    """A link in force during [starts_on, ends_on). `unit_id` is the grid, or the household's current micro grid."""

    __tablename__ = "liaisons"
    __table_args__ = (
        Index("ix_liaisons_household", "household_id", "kind", "ends_on"),
        Index("ix_liaisons_person", "person_id", "kind", "ends_on"),
        # A member's links: their summary, their liaison list, ending them when the member leaves.
        Index("ix_liaisons_member", "member_id", "ends_on"),
        Index("ix_liaisons_unit", "unit_id", "kind"),
    )

    id: str = Field(primary_key=True, max_length=26)
    kind: LiaisonKind = Field(sa_column=enum_column(LiaisonKind, length=24))
    person_id: str = Field(foreign_key="people.id", max_length=26)
    member_id: str | None = Field(default=None, foreign_key="party_members.id", max_length=26)
    household_id: str | None = Field(default=None, foreign_key="households.id", max_length=26)
    unit_id: str = Field(foreign_key="units.id", max_length=26)
    starts_on: date
    ends_on: date | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class LiaisonPublic(BaseModel):
    """A link with names (no personal data)."""

    id: str
    kind: LiaisonKind
    person_id: str
    name: str
    member_id: str | None
    household_id: str | None
    household_code: str | None
    unit_id: str
    unit_name: str
    starts_on: date
    ends_on: date | None
