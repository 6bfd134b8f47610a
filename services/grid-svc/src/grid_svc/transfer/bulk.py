"""The roster import's bulk path: lookups made once per import, new records inserted in batches.

A row that registers something new — a household, a person, a party member, a role, a liaison
link — is checked here against the rules of the single-record use case (`register_household`,
`register_person`, `join_member`, `assign`, `link`), in the same order and with the same refusals, but on
records looked up in bulk for the whole sheet instead of one query per check. Its events are
emitted at once, so the outbox keeps the row order; its rows wait in memory and are inserted in
batches (`flush`). A row that would change a record that already exists raises `UseCaseNeeded`:
the importer then flushes what waits and runs the single-record use case for that row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.assignments.models import CORE_ROLES, ROLE_LEVELS, Assignment, AssignmentCreate, AssignmentRole
from grid_svc.dates import now
from grid_svc.households.models import Household, HouseholdCreate, HouseholdPlacement, tags_from_text, tags_to_text
from grid_svc.households.tallies import tally_households
from grid_svc.liaisons.models import Liaison, LiaisonCreate, LiaisonKind
from grid_svc.party.models import MemberStatus, PartyMember, PartyMemberCreate, PartyOrg
from grid_svc.people.models import HouseholdMember, Person, PersonCreate, Relation
from grid_svc.transfer.cells import blank, read_person_row
from grid_svc.units.models import Level, Unit
from shared.events.grid import HouseholdRegistered, HouseholdUpdated, LiaisonLinked, MemberJoined, PersonJoined, RoleAssigned
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import today
from shared.outbox import emit
from shared.personal_data import mask_id_number, normalise_id_number
from shared.problems import Problem, conflict, not_found, unprocessable
from shared.scope import path_in_scope, town_of

# Keys per IN (…) lookup: well below SQLite's bound-parameter limit.
LOOKUP_CHUNK = 500


class UseCaseNeeded(Exception):
    """The row changes an existing record: the single-record use case handles it."""


def _chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) == LOOKUP_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _normalised(id_number: str | None) -> str | None:
    try:
        return normalise_id_number(id_number) if id_number else None
    except ValueError:
        return None


@dataclass(eq=False)
class HouseholdRef:
    """A household as the import sees it; `row` is set while this import registered it and it waits."""

    id: str
    unit_id: str
    unit_path: str
    address: str
    size: int
    tags_text: str
    head_person_id: str | None
    dissolved_on: date | None
    row: dict[str, Any] | None = None


@dataclass(eq=False)
class PersonRef:
    """A person as the import sees it; `details` are the stored ones (None when this import registered them)."""

    id: str
    name: str
    unit_path: str
    household_id: str | None
    details: dict[str, Any] | None = None


@dataclass(eq=False)
class MemberRef:
    """A current party membership as the import sees it."""

    id: str
    person_id: str
    org_unit_id: str
    org_unit_path: str
    status: MemberStatus
    left_on: date | None
    new: bool = False


@dataclass
class _Pending:
    households: list[dict[str, Any]] = field(default_factory=list)
    placements: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        # Parents before the rows that point at them.
        return [
            (Household.__table__, self.households),
            (HouseholdPlacement.__table__, self.placements),
            (Person.__table__, self.people),
            (HouseholdMember.__table__, self.memberships),
            (PartyMember.__table__, self.members),
            (Assignment.__table__, self.roles),
            (Liaison.__table__, self.links),
        ]


class BulkRegistry:
    """Lookups and pending inserts of one import (one session, one caller)."""

    def __init__(self, session: AsyncSession, identity: Identity, scope_path: str | None) -> None:
        self.session = session
        self.identity = identity
        self.scope_path = scope_path
        self.pending = _Pending()
        self.clear()

    # --- lookups, in bulk per sheet and one by one on a miss ---------------------------------------

    def clear(self) -> None:
        """Forget every looked-up record (a use case may have changed any of them)."""
        self.units: dict[str, Unit | None] = {}
        self.households: dict[str, HouseholdRef | None] = {}
        self.people: dict[str, PersonRef | None] = {}
        self.members: dict[str, MemberRef | None] = {}
        self.orgs: dict[str, tuple[str, str] | None] = {}
        # (kind, household id, unit id, ends_on) of a person's links
        self.links: dict[str, list[tuple[LiaisonKind, str | None, str, date | None]]] = {}
        # (person id, role, starts_on, ends_on) of a unit's assignments; (starts_on, ends_on) of a person's cadre ones
        self.unit_roles: dict[str, list[tuple[str, AssignmentRole, date, date | None]]] = {}
        self.cadre_roles: dict[str, list[tuple[date, date | None]]] = {}

    def in_scope(self, path: str | None) -> bool:
        """The caller may see a record under `path`."""
        return path_in_scope(path, self.identity, self.scope_path)

    async def prefetch(self, sheet: str, rows: list[tuple[int, dict[str, str]]]) -> None:
        """Look up, in a few queries, every record the sheet's rows name."""
        cells = [c for _, c in rows]
        unit_codes = {c.get(column) or "" for c in cells for column in ("unit_code", "org_unit_code") if c.get(column)}
        household_codes = {c["household_code"] for c in cells if c.get("household_code")}
        if sheet == "households":
            household_codes |= {c["code"] for c in cells if c.get("code")}
        id_numbers = {n for n in (_normalised(c.get("id_number")) for c in cells) if n}
        await self._load_units(unit_codes)
        await self._load_households(household_codes)
        await self._load_people(id_numbers)
        people = [p for p in (self.people.get(n) for n in id_numbers) if p is not None and p.details is not None]
        if sheet in ("members", "liaisons"):
            await self._load_members([p.id for p in people])
            await self._load_orgs([u.id for u in self.units.values() if u is not None])
        if sheet == "roles":
            await self._load_unit_roles([u.id for u in self.units.values() if u is not None])
        if sheet == "liaisons":
            await self._load_links([p.id for p in people])
            await self._load_cadre_roles([p.id for p in people])

    async def _load_units(self, codes: Iterable[str]) -> None:
        missing = [c for c in codes if c not in self.units]
        for chunk in _chunks(missing):
            for unit in (await self.session.execute(select(Unit).where(Unit.full_code.in_(chunk)))).scalars():
                self.units.setdefault(unit.full_code, unit)
        for code in missing:
            self.units.setdefault(code, None)

    async def _load_households(self, codes: Iterable[str]) -> None:
        missing = [c for c in codes if c not in self.households]
        columns = (
            Household.code, Household.id, Household.unit_id, Unit.path, Household.address, Household.size,
            Household.tags_text, Household.head_person_id, Household.dissolved_on,
        )
        for chunk in _chunks(missing):
            statement = select(*columns).join(Unit, Unit.id == Household.unit_id).where(Household.code.in_(chunk))
            rows = await self.session.execute(statement)
            for code, *values in rows.all():
                self.households[code] = HouseholdRef(*values)
        for code in missing:
            self.households.setdefault(code, None)

    async def _load_people(self, id_numbers: Iterable[str]) -> None:
        missing = [n for n in id_numbers if n not in self.people]
        columns = (
            Person.id_number, Person.id, Person.name, Unit.path, Person.household_id,
            Person.gender, Person.birth_date, Person.phone,
        )
        for chunk in _chunks(missing):
            statement = select(*columns).join(Unit, Unit.id == Person.unit_id).where(Person.id_number.in_(chunk))
            rows = await self.session.execute(statement)
            for number, person_id, name, path, household_id, gender, birth_date, phone in rows.all():
                details = {"name": name, "gender": gender, "birth_date": birth_date, "phone": phone, "id_number": number}
                self.people[number] = PersonRef(person_id, name, path, household_id, details)
        for number in missing:
            self.people.setdefault(number, None)

    async def _load_members(self, person_ids: Iterable[str]) -> None:
        missing = [p for p in person_ids if p not in self.members]
        columns = (PartyMember.person_id, PartyMember.id, PartyOrg.unit_id, Unit.path, PartyMember.status, PartyMember.left_on)
        day = today()
        for chunk in _chunks(missing):
            rows = await self.session.execute(
                select(*columns)
                .join(PartyOrg, PartyOrg.id == PartyMember.party_org_id)
                .join(Unit, Unit.id == PartyOrg.unit_id)
                .where(PartyMember.person_id.in_(chunk), or_(PartyMember.left_on.is_(None), PartyMember.left_on > day))
            )
            for person_id, member_id, org_unit_id, path, status, left_on in rows.all():
                if self.members.get(person_id) is None:
                    self.members[person_id] = MemberRef(member_id, person_id, org_unit_id, path, status, left_on)
        for person_id in missing:
            self.members.setdefault(person_id, None)

    async def _load_orgs(self, unit_ids: Iterable[str]) -> None:
        missing = [u for u in unit_ids if u not in self.orgs]
        for chunk in _chunks(missing):
            statement = select(PartyOrg.unit_id, PartyOrg.id, PartyOrg.kind).where(PartyOrg.unit_id.in_(chunk))
            rows = await self.session.execute(statement)
            for unit_id, org_id, kind in rows.all():
                self.orgs[unit_id] = (org_id, kind.value)
        for unit_id in missing:
            self.orgs.setdefault(unit_id, None)

    async def _load_links(self, person_ids: Iterable[str]) -> None:
        missing = [p for p in person_ids if p not in self.links]
        for person_id in missing:
            self.links[person_id] = []
        columns = (Liaison.person_id, Liaison.kind, Liaison.household_id, Liaison.unit_id, Liaison.ends_on)
        for chunk in _chunks(missing):
            rows = await self.session.execute(select(*columns).where(Liaison.person_id.in_(chunk)))
            for person_id, kind, household_id, unit_id, ends_on in rows.all():
                self.links[person_id].append((kind, household_id, unit_id, ends_on))

    async def _load_unit_roles(self, unit_ids: Iterable[str]) -> None:
        missing = [u for u in unit_ids if u not in self.unit_roles]
        for unit_id in missing:
            self.unit_roles[unit_id] = []
        columns = (Assignment.unit_id, Assignment.person_id, Assignment.role, Assignment.starts_on, Assignment.ends_on)
        for chunk in _chunks(missing):
            for unit_id, *held in (await self.session.execute(select(*columns).where(Assignment.unit_id.in_(chunk)))).all():
                self.unit_roles[unit_id].append(tuple(held))

    async def _load_cadre_roles(self, person_ids: Iterable[str]) -> None:
        missing = [p for p in person_ids if p not in self.cadre_roles]
        for person_id in missing:
            self.cadre_roles[person_id] = []
        columns = (Assignment.person_id, Assignment.starts_on, Assignment.ends_on)
        for chunk in _chunks(missing):
            statement = select(*columns).where(Assignment.person_id.in_(chunk), Assignment.role == AssignmentRole.CADRE)
            for person_id, starts_on, ends_on in (await self.session.execute(statement)).all():
                self.cadre_roles[person_id].append((starts_on, ends_on))

    async def unit(self, full_code: str) -> Unit:
        """The unit with this full code in the caller's scope, else 422 (as the single-row import answers)."""
        if full_code not in self.units:
            await self._load_units([full_code])
        unit = self.units[full_code]
        if unit is None or not self.in_scope(unit.path):
            raise Problem(422, "unknown_code", f"no unit with code {full_code} in your scope")
        return unit

    async def household(self, code: str) -> HouseholdRef:
        """The household with this code in the caller's scope: 422 when unknown, 404 outside the scope."""
        if code not in self.households:
            await self._load_households([code])
        household = self.households[code]
        if household is None:
            raise Problem(422, "unknown_code", f"no household {code}")
        if not self.in_scope(household.unit_path):
            raise not_found("household")
        return household

    async def person(self, id_number: str) -> PersonRef:
        """The person with this ID number in the caller's scope: 422 when unknown, 404 outside the scope."""
        number = normalise_id_number(id_number)
        if number not in self.people:
            await self._load_people([number])
        person = self.people[number]
        if person is None:
            raise Problem(422, "unknown_person", f"no person with ID number {mask_id_number(id_number)}")
        if not self.in_scope(person.unit_path):
            raise not_found("person")
        return person

    async def current_member(self, person_id: str) -> MemberRef | None:
        """The person's current membership (not left by today), if any."""
        if person_id not in self.members:
            await self._load_members([person_id])
        return self.members[person_id]

    async def org_of_unit(self, unit_id: str) -> tuple[str, str] | None:
        """(id, kind) of the organisation mirroring the unit."""
        if unit_id not in self.orgs:
            await self._load_orgs([unit_id])
        return self.orgs[unit_id]

    async def links_of(self, person_id: str) -> list[tuple[LiaisonKind, str | None, str, date | None]]:
        """The person's links: (kind, household id, unit id, ends_on)."""
        if person_id not in self.links:
            await self._load_links([person_id])
        return self.links[person_id]

    async def roles_on(self, unit_id: str) -> list[tuple[str, AssignmentRole, date, date | None]]:
        """The unit's assignments: (person id, role, starts_on, ends_on)."""
        if unit_id not in self.unit_roles:
            await self._load_unit_roles([unit_id])
        return self.unit_roles[unit_id]

    async def cadre_terms(self, person_id: str) -> list[tuple[date, date | None]]:
        """(starts_on, ends_on) of the person's cadre assignments."""
        if person_id not in self.cadre_roles:
            await self._load_cadre_roles([person_id])
        return self.cadre_roles[person_id]

    # --- rows ------------------------------------------------------------------------------------

    async def household_row(self, cells: dict[str, str]) -> str:
        """A households row: registered here when new (the rules of `register_household`)."""
        tags = [t.strip() for t in (cells.get("tags") or "").replace(",", ";").split(";") if t.strip()]
        data = HouseholdCreate.model_validate(
            {
                "code": cells.get("code"), "address": cells.get("address"), "size": cells.get("size") or 1, "tags": tags,
                "unit_id": "-",
            }
        )
        unit = await self.unit(cells.get("unit_code") or "")
        if data.code not in self.households:
            await self._load_households([data.code])
        household = self.households[data.code]
        if household is not None:
            if household.row is not None or not self.in_scope(household.unit_path):
                raise UseCaseNeeded
            same = (household.address, household.size, household.tags_text) == (data.address, data.size, tags_to_text(data.tags))
            if same and household.unit_id == unit.id:
                return "unchanged"
            raise UseCaseNeeded
        # The micro grid is in scope (looked up so); it must take households.
        if unit.level != Level.MICRO_GRID:
            raise unprocessable(
                f"households belong to a micro grid, not a {unit.level.value}", code="invalid_level", loc=["body", "unit_id"]
            )
        if unit.retired_at is not None:
            raise unprocessable("the micro grid is retired", loc=["body", "unit_id"])
        moment = now()
        tags_text = tags_to_text(data.tags)
        row = {
            "id": new_id(), "code": data.code, "address": data.address, "size": data.size, "unit_id": unit.id,
            "unit_path": unit.path, "town_unit_id": town_of(unit.path), "head_person_id": None, "tags_text": tags_text,
            "registered_on": data.registered_on or today(), "dissolved_on": None, "created_at": moment, "updated_at": moment,
        }
        self.pending.households.append(row)
        self.pending.placements.append(
            {"household_id": row["id"], "unit_id": unit.id, "starts_on": row["registered_on"], "ends_on": None}
        )
        self.households[data.code] = HouseholdRef(
            row["id"], unit.id, unit.path, data.address, data.size, tags_text, None, None, row=row
        )
        emit(
            self.session,
            HouseholdRegistered(
                household_id=row["id"], unit_id=unit.id, unit_path=unit.path, address=data.address, size=data.size,
                tags=tags_from_text(tags_text),
            ),
        )
        return "created"

    async def person_row(self, cells: dict[str, str]) -> str:
        """A people row: registered here when new (the rules of `register_person`), unchanged ones counted."""
        fields, details, relation, household, unit = await read_person_row(cells, household=self.household, unit=self.unit)
        if details.id_number not in self.people:
            await self._load_people([details.id_number])
        person = self.people[details.id_number]
        if person is not None:
            if person.details is None or not self.in_scope(person.unit_path):
                raise UseCaseNeeded
            changed = any(person.details[k] != v for k, v in details.model_dump().items())
            if changed or (household is not None and person.household_id != household.id):
                raise UseCaseNeeded
            return "unchanged"
        data = PersonCreate.model_validate(
            {
                **fields, "household_id": household.id if household else None, "relation": relation,
                "unit_id": unit.id if unit else None,
            }
        )
        if household is not None:
            if household.dissolved_on is not None:
                raise conflict("the household is dissolved", code="dissolved")
            becomes_head = data.relation == Relation.HEAD and household.head_person_id is None
            if becomes_head and household.row is None:
                raise UseCaseNeeded  # the head of a stored household changes: its use case writes it
            unit_id, unit_path = household.unit_id, household.unit_path
        else:
            becomes_head = False
            unit_id, unit_path = unit.id, unit.path
        moment = now()
        person_id = new_id()
        self.pending.people.append(
            {
                "id": person_id, "name": data.name, "gender": data.gender, "birth_date": data.birth_date, "phone": data.phone,
                "id_number": data.id_number, "unit_id": unit_id, "town_unit_id": town_of(unit_path),
                "household_id": household.id if household else None, "created_at": moment, "updated_at": moment,
            }
        )
        self.people[data.id_number] = PersonRef(person_id, data.name, unit_path, household.id if household else None)
        self.members[person_id] = None
        self.links[person_id] = []
        self.cadre_roles[person_id] = []
        if household is None:
            emit(self.session, PersonJoined(person_id=person_id, name=data.name, unit_id=unit_id, unit_path=unit_path))
            return "created"
        self.pending.memberships.append(
            {
                "id": new_id(), "household_id": household.id, "person_id": person_id, "relation": data.relation or Relation.OTHER,
                "joined_on": data.joined_on or today(), "left_on": None, "left_reason": None,
            }
        )
        if becomes_head:
            household.head_person_id = person_id
            household.row.update(head_person_id=person_id, updated_at=now())
            emit(
                self.session,
                HouseholdUpdated(
                    household_id=household.id, unit_id=household.unit_id, address=household.address, head_name=data.name,
                    size=household.size, tags=tags_from_text(household.tags_text),
                ),
            )
        emit(
            self.session,
            PersonJoined(person_id=person_id, name=data.name, household_id=household.id, unit_id=unit_id, unit_path=unit_path),
        )
        return "created"

    async def member_row(self, cells: dict[str, str]) -> str:
        """A members row: the person joins here when not a member yet (the rules of `join_member`)."""
        person = await self.person(cells.get("id_number") or "")
        unit = await self.unit(cells.get("org_unit_code") or "")
        status = MemberStatus(cells["status"]) if blank(cells.get("status")) else MemberStatus.FULL
        data = PartyMemberCreate.model_validate(
            {"person_id": person.id, "unit_id": unit.id, "joined_on": cells.get("joined_on"), "status": status}
        )
        current = await self.current_member(person.id)
        if current is not None:
            if current.org_unit_id != unit.id:
                raise Problem(
                    409, "already_member", "the person is a member of another organisation; record the transfer in the registry"
                )
            if current.status == status:
                return "unchanged"
            raise UseCaseNeeded
        org = await self.org_of_unit(unit.id)
        if org is None:
            raise not_found(f"party organisation of this {unit.level.value}")
        if unit.retired_at is not None:
            raise unprocessable("the organisation's unit is retired", loc=["body", "party_org_id"])
        if data.joined_on > today():
            raise unprocessable("joined_on is in the future", loc=["body", "joined_on"])
        moment = now()
        member_id = new_id()
        org_id, org_kind = org
        self.pending.members.append(
            {
                "id": member_id, "person_id": person.id, "party_org_id": org_id, "joined_on": data.joined_on,
                "status": data.status, "left_on": None, "left_reason": None, "created_at": moment, "updated_at": moment,
            }
        )
        self.members[person.id] = MemberRef(member_id, person.id, unit.id, unit.path, data.status, None, new=True)
        emit(
            self.session,
            MemberJoined(
                member_id=member_id, person_id=person.id, name=person.name, party_org_id=org_id, org_kind=org_kind,
                org_unit_id=unit.id, org_unit_path=unit.path, joined_on=data.joined_on,
            ),
        )
        return "created"

    async def role_row(self, cells: dict[str, str]) -> str:
        """A roles row: the role is given here when the person does not hold it yet (the rules of `assign`)."""
        person = await self.person(cells.get("id_number") or "")
        unit = await self.unit(cells.get("unit_code") or "")
        data = AssignmentCreate.model_validate(
            {
                "unit_id": unit.id, "person_id": person.id, "role": cells.get("role"), "title": blank(cells.get("title")),
                "starts_on": blank(cells.get("starts_on")),
            }
        )
        held = await self.roles_on(unit.id)
        day = today()
        if any(p == person.id and r == data.role and (ends is None or ends > day) for p, r, _, ends in held):
            return "unchanged"
        if unit.retired_at is not None:
            raise unprocessable("the unit is retired", loc=["body", "unit_id"])
        if unit.level not in ROLE_LEVELS[data.role]:
            allowed = ", ".join(sorted(level.value for level in ROLE_LEVELS[data.role]))
            raise unprocessable(
                f"a {data.role.value} is assigned on a {allowed}, not a {unit.level.value}", code="invalid_level", loc=["body", "unit_id"]
            )
        starts_on = data.starts_on or today()
        if any(p == person.id and r == data.role and (ends is None or ends > starts_on) for p, r, _, ends in held):
            raise conflict("the person already holds this role on this unit", code="already_assigned")
        if data.role in CORE_ROLES and any(r == data.role and (ends is None or ends > starts_on) for _, r, _, ends in held):
            raise conflict(f"the unit already has a {data.role.value}; end that assignment first", code="role_taken")
        moment = now()
        assignment_id = new_id()
        self.pending.roles.append(
            {
                "id": assignment_id, "unit_id": unit.id, "person_id": person.id, "role": data.role, "title": data.title,
                "starts_on": starts_on, "ends_on": None, "created_at": moment, "updated_at": moment,
            }
        )
        held.append((person.id, data.role, starts_on, None))
        if data.role == AssignmentRole.CADRE:
            (await self.cadre_terms(person.id)).append((starts_on, None))
        emit(
            self.session,
            RoleAssigned(
                assignment_id=assignment_id, unit_id=unit.id, unit_path=unit.path, person_id=person.id, name=person.name,
                role=data.role.value, starts_on=starts_on,
            ),
        )
        return "created"

    async def liaison_row(self, cells: dict[str, str]) -> str:
        """A liaisons row: the link is made here when new (the rules of `link`).

        A member's link names a household; a cadre's a grid or a household. Other combinations go to the use case.
        """
        kind = LiaisonKind(cells.get("kind") or "")
        person = await self.person(cells.get("id_number") or "")
        household = await self.household(cells["household_code"]) if blank(cells.get("household_code")) else None
        unit = await self.unit(cells["unit_code"]) if blank(cells.get("unit_code")) else None
        on_grid = kind == LiaisonKind.CADRE_GRID
        # A grid link names a grid and no household; the others a household.
        if (household is not None) == on_grid or (on_grid and unit is None):
            raise UseCaseNeeded
        day = today()
        links = await self.links_of(person.id)

        def linked(k: LiaisonKind, h: str | None, u: str, ends: date | None, since: date) -> bool:
            same = h == household.id if household is not None else u == (unit.id if unit else None)
            return k == kind and same and (ends is None or ends > since)

        if any(linked(*link, day) for link in links):
            return "unchanged"
        member = None
        if kind == LiaisonKind.MEMBER_HOUSEHOLD:
            member = await self.current_member(person.id)
            if member is None:
                raise Problem(422, "not_a_member", "the person is not a current party member")
        data = LiaisonCreate.model_validate(
            {
                "kind": kind, "member_id": member.id if member else None, "person_id": person.id,
                "household_id": household.id if household else None, "unit_id": unit.id if unit else None,
                "starts_on": blank(cells.get("starts_on")),
            }
        )
        starts_on = data.starts_on or today()
        if member is not None:
            if not self.in_scope(member.org_unit_path):
                raise not_found("party member")
            if member.left_on is not None and member.left_on <= starts_on:
                raise unprocessable("the party member has left", code="member_left", loc=["body", "member_id"])
        elif not any(starts <= starts_on and (ends is None or ends > starts_on) for starts, ends in await self.cadre_terms(person.id)):
            raise unprocessable(
                "the person holds no cadre assignment on that day; assign the role first", code="not_a_cadre", loc=["body", "person_id"]
            )
        if on_grid:
            if unit.level != Level.GRID:
                raise unprocessable(f"a cadre is linked to a grid, not a {unit.level.value}", code="invalid_level", loc=["body", "unit_id"])
            if unit.retired_at is not None:
                raise unprocessable("the grid is retired", loc=["body", "unit_id"])
            unit_id, unit_path = unit.id, unit.path
        else:
            if household.dissolved_on is not None:
                raise conflict("the household is dissolved", code="dissolved")
            unit_id, unit_path = household.unit_id, household.unit_path
        if any(linked(*link, starts_on) for link in links):
            raise conflict("this link already exists", code="already_linked")
        moment = now()
        link_id = new_id()
        household_id = None if on_grid else household.id
        self.pending.links.append(
            {
                "id": link_id, "kind": kind, "person_id": person.id, "member_id": member.id if member else None,
                "household_id": household_id, "unit_id": unit_id, "starts_on": starts_on, "ends_on": None,
                "created_at": moment, "updated_at": moment,
            }
        )
        links.append((kind, household_id, unit_id, None))
        emit(
            self.session,
            LiaisonLinked(
                liaison_id=link_id, kind=kind.value, person_id=person.id, name=person.name,
                member_id=member.id if member else None, household_id=household_id, unit_id=unit_id, unit_path=unit_path,
                starts_on=starts_on,
            ),
        )
        return "created"

    # --- writing ---------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Insert every waiting row, in batches, parents first; then forget the lookups."""
        for table, rows in self.pending.tables():
            if rows:
                await self.session.execute(insert(table), rows)
        await tally_households(self.session, ((row["unit_path"], 1) for row in self.pending.households))
        self.pending = _Pending()
        self.clear()
