"""The publicity family: teams with members, and publicity events."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, field_validator
from sqlmodel import Field

from legal_svc.db import LegalModel, town_index
from shared.columns import enum_column, utc_column

ID = 26


class TeamKind(StrEnum):
    """The three kinds of publicity team in the report."""

    LECTURER_GROUP = "lecturer_group"
    VOLUNTEER_TEAM = "volunteer_team"
    LEGAL_SAVVY_VILLAGERS = "legal_savvy_villagers"


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class TeamCreate(BaseModel):
    """Form a publicity team."""

    name: str = Field(min_length=1, max_length=100)
    kind: TeamKind
    unit_id: str = Field(max_length=ID)
    formed_on: date

    _strip = field_validator("name")(classmethod(lambda cls, v: _not_blank(v)))


class PublicityTeam(LegalModel, table=True):
    """A stored publicity team."""

    __tablename__ = "publicity_teams"
    __table_args__ = (town_index("publicity_teams"),)

    id: str = Field(primary_key=True, max_length=ID)
    name: str = Field(max_length=100)
    kind: TeamKind = Field(sa_column=enum_column(TeamKind, length=24))
    unit_id: str = Field(max_length=ID, index=True)
    town_unit_id: str | None = Field(None, max_length=ID)  # the town its unit lies in now: legal_svc.towns
    formed_on: date
    disbanded_on: date | None = None
    created_at: datetime = Field(sa_column=utc_column())


class TeamPublic(BaseModel):
    """A team with how many members it has now."""

    id: str
    name: str
    kind: TeamKind
    unit_id: str
    formed_on: date
    disbanded_on: date | None
    members: int
    created_at: datetime


class TeamDisband(BaseModel):
    """Disband a team."""

    disbanded_on: date


class MemberCreate(BaseModel):
    """Add a member to a team."""

    name: str = Field(min_length=1, max_length=50)
    title: str | None = Field(None, max_length=100, description="e.g. 司法所长, 退休教师, 村民")
    person_id: str | None = Field(None, max_length=26)
    joined_on: date

    _strip = field_validator("name")(classmethod(lambda cls, v: _not_blank(v)))


class PublicityTeamMember(LegalModel, table=True):
    """A stored team member."""

    __tablename__ = "publicity_team_members"

    id: str = Field(primary_key=True, max_length=ID)
    team_id: str = Field(foreign_key="publicity_teams.id", max_length=ID, index=True)
    name: str = Field(max_length=50)
    title: str | None = Field(None, max_length=100)
    person_id: str | None = Field(None, max_length=26)
    joined_on: date
    left_on: date | None = None


class MemberPublic(BaseModel):
    """A team member."""

    id: str
    team_id: str
    name: str
    title: str | None
    person_id: str | None
    joined_on: date
    left_on: date | None


class EventCreate(BaseModel):
    """Record a publicity event."""

    team_id: str | None = Field(None, max_length=ID)
    unit_id: str = Field(max_length=ID)
    held_on: date
    theme: str = Field(min_length=1, max_length=200, description="e.g. 反电信诈骗, 民法典进农村")
    audience: int = Field(0, ge=0, description="people reached")
    materials: int = Field(0, ge=0, description="leaflets and booklets handed out")
    notes: str | None = Field(None, max_length=2000)

    _strip = field_validator("theme")(classmethod(lambda cls, v: _not_blank(v)))


class PublicityEvent(LegalModel, table=True):
    """A stored publicity event."""

    __tablename__ = "publicity_events"
    __table_args__ = (town_index("publicity_events", "held_on"),)

    id: str = Field(primary_key=True, max_length=ID)
    team_id: str | None = Field(None, foreign_key="publicity_teams.id", max_length=ID, index=True)
    unit_id: str = Field(max_length=ID, index=True)
    town_unit_id: str | None = Field(None, max_length=ID)  # the town its unit lies in now: legal_svc.towns
    held_on: date = Field(index=True)
    theme: str = Field(max_length=200)
    audience: int = 0
    materials: int = 0
    notes: str | None = Field(None, max_length=2000)
    created_at: datetime = Field(sa_column=utc_column())


class EventPublic(BaseModel):
    """A publicity event."""

    id: str
    team_id: str | None
    unit_id: str
    held_on: date
    theme: str
    audience: int
    materials: int
    notes: str | None
    created_at: datetime
