"""The assignment family."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Index
from sqlmodel import Field

from grid_svc.db import GridModel
from grid_svc.units.models import Level
from shared.columns import UTCDateTime, enum_column


class AssignmentRole(StrEnum):
    """What a person does on a unit: the 1+1+1 core, the N others, and cadres."""

    GRID_LEADER = "grid_leader"  # 网格长
    GRID_WORKER = "grid_worker"  # 全科网格员
    GRID_ASSISTANT = "grid_assistant"  # 全科网格辅助员
    PARTY_MEMBER = "party_member"
    COMMITTEE_MEMBER = "committee_member"  # 村委委员
    VOLUNTEER = "volunteer"
    CADRE = "cadre"  # 片长 / 包村干部


CORE_ROLES = (AssignmentRole.GRID_LEADER, AssignmentRole.GRID_WORKER, AssignmentRole.GRID_ASSISTANT)
_BELOW_VILLAGE = frozenset({Level.GRID, Level.SMALL_GRID, Level.MICRO_GRID})
ROLE_LEVELS: dict[AssignmentRole, frozenset[Level]] = {
    AssignmentRole.GRID_LEADER: _BELOW_VILLAGE,
    AssignmentRole.GRID_WORKER: _BELOW_VILLAGE,
    AssignmentRole.GRID_ASSISTANT: _BELOW_VILLAGE,
    AssignmentRole.PARTY_MEMBER: _BELOW_VILLAGE | {Level.VILLAGE},
    AssignmentRole.COMMITTEE_MEMBER: _BELOW_VILLAGE | {Level.VILLAGE},
    AssignmentRole.VOLUNTEER: _BELOW_VILLAGE | {Level.VILLAGE, Level.TOWN},
    AssignmentRole.CADRE: frozenset({Level.TOWN, Level.VILLAGE}),
}


class AssignmentCreate(BaseModel):
    """Give a person a role on a unit from `starts_on`."""

    unit_id: str = Field(max_length=26)
    person_id: str = Field(max_length=26)
    role: AssignmentRole
    title: str | None = Field(None, max_length=50, description="local title, e.g. 片长 or 包村干部")
    starts_on: date | None = Field(None, description="default today (Asia/Shanghai)")


class AssignmentEnd(BaseModel):
    """End a role assignment."""

    ended_on: date | None = Field(None, description="default today (Asia/Shanghai)")


class Assignment(GridModel, table=True):
    """A person's role on a unit during [starts_on, ends_on)."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_unit", "unit_id", "role", "ends_on"), Index("ix_assignments_person", "person_id"))

    id: str = Field(primary_key=True, max_length=26)
    unit_id: str = Field(foreign_key="units.id", max_length=26)
    person_id: str = Field(foreign_key="people.id", max_length=26)
    role: AssignmentRole = Field(sa_column=enum_column(AssignmentRole, length=24))
    title: str | None = Field(default=None, max_length=50)
    starts_on: date
    ends_on: date | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AssignmentPublic(BaseModel):
    """An assignment with the person's and unit's names."""

    id: str
    unit_id: str
    unit_name: str
    person_id: str
    name: str
    role: AssignmentRole
    title: str | None
    starts_on: date
    ends_on: date | None
