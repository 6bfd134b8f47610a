"""The party organisation and party member families."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Column, Index
from sqlmodel import Field

from grid_svc.db import GridModel
from grid_svc.units.models import Level
from shared.columns import UTCDateTime, enum_type


class OrgKind(StrEnum):
    """Town party committee, village party branch, grid party group."""

    COMMITTEE = "committee"
    BRANCH = "branch"
    GROUP = "group"


ORG_KIND_OF_LEVEL: dict[Level, OrgKind] = {Level.TOWN: OrgKind.COMMITTEE, Level.VILLAGE: OrgKind.BRANCH, Level.GRID: OrgKind.GROUP}
_ORG_SUFFIX = {OrgKind.COMMITTEE: "党委", OrgKind.BRANCH: "党支部", OrgKind.GROUP: "党小组"}


def default_org_name(unit_name: str, kind: OrgKind) -> str:
    """禹王镇 → 禹王镇党委; 东村 → 东村党支部; 一网格 → 一网格党小组."""
    return f"{unit_name}{_ORG_SUFFIX[kind]}"[:100]


class MemberStatus(StrEnum):
    """Full member or probationary member (预备党员)."""

    FULL = "full"
    PROBATIONARY = "probationary"



class PartyOrg(GridModel, table=True):
    """The party organisation of one town, village or grid (created with the unit)."""

    __tablename__ = "party_orgs"
    __table_args__ = (Index("ix_party_orgs_unit", "unit_id", unique=True),)

    id: str = Field(primary_key=True, max_length=26)
    unit_id: str = Field(foreign_key="units.id", max_length=26)
    kind: OrgKind = Field(sa_column=Column(enum_type(OrgKind, 16), nullable=False))
    name: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PartyOrgRename(BaseModel):
    """Give an organisation its official name."""

    name: str = Field(min_length=1, max_length=100)


class PartyOrgPublic(BaseModel):
    """An organisation with the unit it mirrors."""

    id: str
    unit_id: str
    kind: OrgKind
    name: str
    unit_name: str
    unit_path: str
    active_members: int | None = None


class PartyMemberCreate(BaseModel):
    """A registered person joins a party organisation (by its id, or by the unit it mirrors)."""

    person_id: str = Field(max_length=26)
    party_org_id: str | None = Field(None, max_length=26)
    unit_id: str | None = Field(None, max_length=26, description="instead of party_org_id: the town, village or grid")
    joined_on: date
    status: MemberStatus = MemberStatus.FULL


class PartyMemberUpdate(BaseModel):
    """Change a member's status (a probationary member becomes full)."""

    status: MemberStatus


class PartyMemberLeave(BaseModel):
    """A member leaves the organisation (transferred out, deceased …)."""

    left_on: date | None = None
    reason: str | None = Field(None, max_length=200)


class PartyMember(GridModel, table=True):
    """A person's membership of one party organisation during [joined_on, left_on)."""

    __tablename__ = "party_members"
    __table_args__ = (Index("ix_party_members_org", "party_org_id", "left_on"), Index("ix_party_members_person", "person_id"))

    id: str = Field(primary_key=True, max_length=26)
    person_id: str = Field(foreign_key="people.id", max_length=26)
    party_org_id: str = Field(foreign_key="party_orgs.id", max_length=26)
    joined_on: date
    status: MemberStatus = Field(sa_column=Column(enum_type(MemberStatus, 16), nullable=False))
    left_on: date | None = None
    left_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PartyMemberPublic(BaseModel):
    """A member with names of the person and organisation."""

    id: str
    person_id: str
    name: str
    party_org_id: str
    org_name: str
    org_kind: OrgKind
    unit_id: str
    joined_on: date
    status: MemberStatus
    left_on: date | None
    left_reason: str | None
