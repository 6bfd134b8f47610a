"""The patrol family: teams over village clusters, auxiliary officers, patrol logs and their incidents."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, field_validator, model_validator
from sqlmodel import Field

from legal_svc.db import LegalModel, town_index
from legal_svc.privacy import Phone
from shared.columns import enum_column, fen_column, utc_column

ID = 26


class IncidentKind(StrEnum):
    """What a patrol met."""

    FRAUD = "fraud"
    THEFT = "theft"
    FIRE_HAZARD = "fire_hazard"
    DISPUTE = "dispute"
    TRAFFIC = "traffic"
    OTHER = "other"


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class TeamCreate(BaseModel):
    """Form a patrol team over a cluster of villages."""

    name: str = Field(min_length=1, max_length=100)
    unit_id: str = Field(max_length=ID, description="the unit the team belongs to (usually the town)")
    village_ids: list[str] = Field(min_length=1, max_length=30, description="the village cluster it patrols")
    formed_on: date

    _strip = field_validator("name")(classmethod(lambda cls, v: _not_blank(v)))


class PatrolTeam(LegalModel, table=True):
    """A stored patrol team."""

    __tablename__ = "patrol_teams"

    id: str = Field(primary_key=True, max_length=ID)
    name: str = Field(max_length=100)
    unit_id: str = Field(max_length=ID, index=True)
    formed_on: date
    created_at: datetime = Field(sa_column=utc_column())


class PatrolTeamVillage(LegalModel, table=True):
    """A village in a team's cluster."""

    __tablename__ = "patrol_team_villages"

    team_id: str = Field(foreign_key="patrol_teams.id", primary_key=True, max_length=ID)
    unit_id: str = Field(primary_key=True, max_length=ID, index=True)


class TeamPublic(BaseModel):
    """A patrol team with its villages."""

    id: str
    name: str
    unit_id: str
    village_ids: list[str]
    formed_on: date
    created_at: datetime


class OfficerCreate(BaseModel):
    """Post an auxiliary police officer to a village from a date (one per village at a time)."""

    name: str = Field(min_length=1, max_length=50)
    phone: Phone | None = Field(None, description="masked in lists")
    unit_id: str = Field(max_length=ID, description="the village")
    starts_on: date
    ends_on: date | None = None

    _strip = field_validator("name")(classmethod(lambda cls, v: _not_blank(v)))

    @model_validator(mode="after")
    def _dates(self) -> OfficerCreate:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class OfficerEnd(BaseModel):
    """End a posting."""

    ends_on: date


class AuxiliaryOfficer(LegalModel, table=True):
    """An auxiliary police officer's dated posting to a village."""

    __tablename__ = "auxiliary_officers"

    id: str = Field(primary_key=True, max_length=ID)
    name: str = Field(max_length=50)
    phone: str | None = Field(None, max_length=20)
    unit_id: str = Field(max_length=ID, index=True)
    starts_on: date
    ends_on: date | None = None


class OfficerPublic(BaseModel):
    """A posting; the phone is masked in lists."""

    id: str
    name: str
    phone: str | None
    unit_id: str
    starts_on: date
    ends_on: date | None


class IncidentIn(BaseModel):
    """An incident met on a patrol."""

    kind: IncidentKind
    description: str = Field(min_length=1, max_length=2000)
    losses_prevented_fen: int = Field(0, ge=0)
    recovered_fen: int = Field(0, ge=0)


class PatrolCreate(BaseModel):
    """Log a patrol with its route, the publicity given and the incidents met."""

    team_id: str = Field(max_length=ID)
    unit_id: str = Field(max_length=ID, description="the village patrolled (in the team's cluster)")
    started_at: datetime
    ended_at: datetime
    route: str = Field(min_length=1, max_length=1000)
    publicity: str | None = Field(None, max_length=2000, description="anti-fraud, theft or fire-safety publicity given")
    people_reached: int = Field(0, ge=0)
    incidents: list[IncidentIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _times(self) -> PatrolCreate:
        if self.started_at.tzinfo is None or self.ended_at.tzinfo is None:
            raise ValueError("times need a timezone offset")
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


class PatrolLog(LegalModel, table=True):
    """A stored patrol log; `patrolled_on` is the start date in Asia/Shanghai."""

    __tablename__ = "patrol_logs"
    __table_args__ = (town_index("patrol_logs", "patrolled_on"),)

    id: str = Field(primary_key=True, max_length=ID)
    team_id: str = Field(foreign_key="patrol_teams.id", max_length=ID, index=True)
    unit_id: str = Field(max_length=ID, index=True)
    town_unit_id: str | None = Field(None, max_length=ID)  # the town its unit lies in now: legal_svc.towns
    patrolled_on: date = Field(index=True)
    started_at: datetime = Field(sa_column=utc_column())
    ended_at: datetime = Field(sa_column=utc_column())
    route: str = Field(max_length=1000)
    publicity: str | None = Field(None, max_length=2000)
    people_reached: int = 0
    recorded_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=utc_column())


class PatrolIncident(LegalModel, table=True):
    """A stored incident of a patrol."""

    __tablename__ = "patrol_incidents"

    id: str = Field(primary_key=True, max_length=ID)
    patrol_id: str = Field(foreign_key="patrol_logs.id", max_length=ID, index=True)
    kind: IncidentKind = Field(sa_column=enum_column(IncidentKind, length=16))
    description: str = Field(max_length=2000)
    losses_prevented_fen: int = Field(0, sa_column=fen_column())
    recovered_fen: int = Field(0, sa_column=fen_column())


class IncidentPublic(IncidentIn):
    """An incident."""

    id: str


class PatrolPublic(BaseModel):
    """A patrol log with its incidents and totals."""

    id: str
    team_id: str
    unit_id: str
    patrolled_on: date
    started_at: datetime
    ended_at: datetime
    route: str
    publicity: str | None
    people_reached: int
    incidents: list[IncidentPublic]
    losses_prevented_fen: int
    recovered_fen: int
    created_at: datetime
