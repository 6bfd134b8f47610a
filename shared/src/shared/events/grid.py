"""Events published by grid-svc on `grid.events` (consumed by points, dispatch and legal)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from shared.events.base import EVENT_TYPE_PREFIX, DomainEvent
from shared.events.topics import GRID_TOPIC

Level = Literal["county", "town", "village", "grid", "small_grid", "micro_grid"]
_P = f"{EVENT_TYPE_PREFIX}.grid"


class GridEvent(DomainEvent):
    """Base of grid-svc's events."""

    topic: ClassVar[str] = GRID_TOPIC


class UnitEvent(GridEvent):
    """An event about one unit of the grid tree."""

    subject_field: ClassVar[str] = "unit_id"
    unit_id: str


class UnitCreated(UnitEvent):
    """A unit was added to the tree. `path` lists ids root→self, '/'-separated."""

    event_type: ClassVar[str] = f"{_P}.unit.created.v1"
    code: str
    full_code: str
    name: str
    level: Level
    parent_id: str | None
    path: str


class UnitRenamed(UnitEvent):
    """A unit got a new name."""

    event_type: ClassVar[str] = f"{_P}.unit.renamed.v1"
    name: str


class UnitMoved(UnitEvent):
    """A unit (and its whole subtree) got a new parent; paths under `old_path` now start with `path`."""

    event_type: ClassVar[str] = f"{_P}.unit.moved.v1"
    parent_id: str
    old_path: str
    path: str
    full_code: str


class UnitRetired(UnitEvent):
    """A unit was retired (soft: history is kept)."""

    event_type: ClassVar[str] = f"{_P}.unit.retired.v1"
    retired_at: datetime




class HouseholdEvent(GridEvent):
    """An event about one household."""

    subject_field: ClassVar[str] = "household_id"
    household_id: str


class HouseholdRegistered(HouseholdEvent):
    """A household was registered in a micro grid. `unit_path` is that micro grid's path."""

    event_type: ClassVar[str] = f"{_P}.household.registered.v1"
    unit_id: str
    unit_path: str
    address: str
    head_name: str | None = None
    size: int = 1
    tags: list[str] = []


class HouseholdMoved(HouseholdEvent):
    """A household now belongs to another micro grid, from `moved_on` (history is kept)."""

    event_type: ClassVar[str] = f"{_P}.household.moved.v1"
    from_unit_id: str
    unit_id: str
    unit_path: str
    moved_on: date


class PersonEvent(GridEvent):
    """An event about one person of the registry (names only, never ID numbers or phones)."""

    subject_field: ClassVar[str] = "person_id"
    person_id: str


class PersonJoined(PersonEvent):
    """A person was registered, in a household when `household_id` is set."""

    event_type: ClassVar[str] = f"{_P}.person.joined.v1"
    name: str
    household_id: str | None = None
    unit_id: str | None = None
    unit_path: str | None = None


class PersonLeft(PersonEvent):
    """A person left their household (moved away, deceased …) on `left_on`."""

    event_type: ClassVar[str] = f"{_P}.person.left.v1"
    household_id: str | None = None
    left_on: date
    reason: str | None = None


class MemberEvent(GridEvent):
    """An event about one party member."""

    subject_field: ClassVar[str] = "member_id"
    member_id: str


class MemberJoined(MemberEvent):
    """A person became a member of a party organisation; `org_unit_id` is the unit it mirrors."""

    event_type: ClassVar[str] = f"{_P}.member.joined.v1"
    person_id: str
    name: str
    party_org_id: str
    org_kind: Literal["committee", "branch", "group"]
    org_unit_id: str
    org_unit_path: str
    joined_on: date


class MemberLeft(MemberEvent):
    """A member left their organisation (transferred, deceased …) on `left_on`."""

    event_type: ClassVar[str] = f"{_P}.member.left.v1"
    person_id: str
    left_on: date
    reason: str | None = None


RoleName = Literal["grid_leader", "grid_worker", "grid_assistant", "party_member", "committee_member", "volunteer", "cadre"]


class AssignmentEvent(GridEvent):
    """An event about one dated role assignment on a unit."""

    subject_field: ClassVar[str] = "assignment_id"
    assignment_id: str


class RoleAssigned(AssignmentEvent):
    """A person took a role on a unit from `starts_on`."""

    event_type: ClassVar[str] = f"{_P}.role.assigned.v1"
    unit_id: str
    unit_path: str
    person_id: str
    name: str
    role: RoleName
    starts_on: date


class RoleEnded(AssignmentEvent):
    """A role assignment ended on `ended_on`."""

    event_type: ClassVar[str] = f"{_P}.role.ended.v1"
    unit_id: str
    person_id: str
    role: RoleName
    ended_on: date


LiaisonKind = Literal["member_household", "cadre_grid", "cadre_household"]


class LiaisonEvent(GridEvent):
    """An event about one dated liaison link."""

    subject_field: ClassVar[str] = "liaison_id"
    liaison_id: str


class LiaisonLinked(LiaisonEvent):
    """A party member or cadre became responsible for a household or grid from `starts_on`.

    `unit_id`/`unit_path` locate the grid, or the household's micro grid.
    """

    event_type: ClassVar[str] = f"{_P}.liaison.linked.v1"
    kind: LiaisonKind
    person_id: str
    name: str
    member_id: str | None = None
    household_id: str | None = None
    unit_id: str
    unit_path: str
    starts_on: date


class LiaisonUnlinked(LiaisonEvent):
    """A liaison link ended on `ended_on`."""

    event_type: ClassVar[str] = f"{_P}.liaison.unlinked.v1"
    kind: LiaisonKind
    person_id: str
    household_id: str | None = None
    unit_id: str
    ended_on: date


class HouseholdUpdated(HouseholdEvent):
    """A household's address, head, size or tags changed (the full new values)."""

    event_type: ClassVar[str] = f"{_P}.household.updated.v1"
    unit_id: str
    address: str
    head_name: str | None = None
    size: int = 1
    tags: list[str] = []


class HouseholdDissolved(HouseholdEvent):
    """A household was closed on `dissolved_on` (its record and history stay)."""

    event_type: ClassVar[str] = f"{_P}.household.dissolved.v1"
    unit_id: str
    dissolved_on: date
