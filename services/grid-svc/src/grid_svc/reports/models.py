"""What the compliance reports return."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from grid_svc.assignments.models import AssignmentRole


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
