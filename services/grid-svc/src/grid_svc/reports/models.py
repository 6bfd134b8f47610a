"""What the compliance reports return."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from grid_svc.assignments.models import AssignmentPublic, AssignmentRole
from grid_svc.liaisons.models import LiaisonPublic
from grid_svc.party.models import PartyMemberPublic
from grid_svc.units.models import LevelCounts, UnitDetail


class ComplianceSummary(BaseModel):
    """Headline numbers under a unit on a day."""

    unit_id: str
    on: date
    grids: int
    grids_with_incomplete_team: int
    cadres: int
    cadres_below_minimum: int
    micro_grids: int
    micro_grids_without_member_liaison: int
    households: int
    households_with_liaison: int
    liaison_coverage: float  # households_with_liaison / households (0 when there are none)


class IncompleteTeam(BaseModel):
    """A grid whose 1+1+1 core team misses someone."""

    unit_id: str
    code: str
    full_code: str
    name: str
    missing_roles: list[AssignmentRole]


class CadreLoad(BaseModel):
    """A cadre and how many grids and households they are responsible for."""

    person_id: str
    name: str
    grids: int
    households: int


class UnlinkedMicroGrid(BaseModel):
    """A micro grid where no household has a party-member liaison."""

    unit_id: str
    code: str
    full_code: str
    name: str
    households: int


class UnitSummary(BaseModel):
    """A unit at a glance from the registry (what the gateway's unit overview and town dashboard show)."""

    unit: UnitDetail
    units_below: LevelCounts = Field(description="active units of each level under the unit, today")
    party_members: int = Field(description="current members of the party organisations in the subtree, today")
    team: list[AssignmentPublic] = Field(description="role assignments on the unit itself in force today (at most 200)")
    compliance: ComplianceSummary = Field(description="the compliance summary of the subtree on `on`")


class MemberSummary(BaseModel):
    """A party member from the registry with their roles and liaisons (what the gateway's member profile shows)."""

    member: PartyMemberPublic
    roles: list[AssignmentPublic] = Field(description="the person's role assignments in force today, in the caller's scope (at most 200)")
    liaisons: list[LiaisonPublic] = Field(
        description="liaison links in force today of the member or of their person (households, grids), in the caller's scope (at most 200)"
    )
