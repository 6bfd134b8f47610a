"""Read-model tables kept from grid-svc's events (never written by this service's API)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index
from sqlmodel import Field

from dispatch_svc.db import DispatchModel
from shared.columns import UTCDateTime, enum_type


class Household(DispatchModel, table=True):
    """A household and the micro grid it belongs to now."""

    __tablename__ = "roster_households"

    id: str = Field(primary_key=True, max_length=26)
    unit_id: str = Field(max_length=26, index=True)
    unit_path: str = Field(max_length=400)
    address: str = Field(default="", max_length=300)
    head_name: str | None = Field(default=None, max_length=100)
    dissolved_on: date | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Person(DispatchModel, table=True):
    """A person of the grid registry (names only), e.g. a lecturer or a liaison."""

    __tablename__ = "roster_people"

    id: str = Field(primary_key=True, max_length=26)
    name: str = Field(max_length=100)
    household_id: str | None = Field(default=None, max_length=26, index=True)
    unit_id: str | None = Field(default=None, max_length=26)
    left_on: date | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Member(DispatchModel, table=True):
    """A party membership: whoever holds one (not left) counts as a party member."""

    __tablename__ = "roster_members"

    id: str = Field(primary_key=True, max_length=26)
    person_id: str = Field(max_length=26, index=True)
    name: str = Field(max_length=100)
    org_unit_id: str = Field(max_length=26)
    joined_on: date
    left_on: date | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


class LiaisonKind(StrEnum):
    """Who is linked to what."""

    MEMBER_HOUSEHOLD = "member_household"
    CADRE_GRID = "cadre_grid"
    CADRE_HOUSEHOLD = "cadre_household"


class Liaison(DispatchModel, table=True):
    """A dated liaison link: a cadre (or party member) answers for a grid or a household."""

    __tablename__ = "roster_liaisons"
    __table_args__ = (
        Index("ix_roster_liaisons_household", "household_id", "kind"),
        Index("ix_roster_liaisons_unit", "unit_id", "kind"),
    )

    id: str = Field(primary_key=True, max_length=26)
    kind: LiaisonKind = Field(sa_column=Column(enum_type(LiaisonKind, 20), nullable=False))
    person_id: str = Field(max_length=26, index=True)
    name: str = Field(max_length=100)
    member_id: str | None = Field(default=None, max_length=26)
    household_id: str | None = Field(default=None, max_length=26)
    unit_id: str = Field(max_length=26)
    unit_path: str = Field(max_length=400)
    starts_on: date
    ended_on: date | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)
