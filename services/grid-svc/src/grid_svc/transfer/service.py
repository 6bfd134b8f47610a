"""Roster import (validate every row, apply all or nothing, upsert by code) and export of a subtree."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.access import require_grid_admin
from grid_svc.assignments import service as assignments
from grid_svc.assignments.models import Assignment, AssignmentCreate
from grid_svc.households import service as households
from grid_svc.households.models import Household, HouseholdCreate, HouseholdTag, HouseholdUpdate, tags_from_text, tags_to_text
from grid_svc.liaisons import service as liaisons
from grid_svc.liaisons.models import Liaison, LiaisonCreate, LiaisonKind
from grid_svc.party import service as party
from grid_svc.party.models import MemberStatus, PartyMember, PartyMemberCreate, PartyOrg
from grid_svc.people import service as people
from grid_svc.people.models import Gender, MembershipCreate, Person, PersonCreate, PersonUpdate
from grid_svc.transfer.bulk import BulkRegistry, UseCaseNeeded
from grid_svc.transfer.cells import blank, read_person_row
from grid_svc.transfer.sheets import SHEETS, Rows
from grid_svc.units import service as units
from grid_svc.units.models import Unit, UnitCreate
from grid_svc.units.shape import keep_tree_shape
from shared.identity import Identity
from shared.local_time import today
from shared.personal_data import mask_id_number, mask_phone, normalise_id_number
from shared.problems import Problem
from shared.scope import in_subtree, path_in_scope


class RowError(BaseModel):
    """One problem in one row: sheet, row number as the user sees it, column, message."""

    sheet: str
    row: int
    column: str | None
    message: str


class SheetCounts(BaseModel):
    """What an import did (or would do) to one sheet."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportReport(BaseModel):
    """The outcome of an import: counts per sheet; `applied` is false for a dry run."""

    dry_run: bool
    applied: bool
    sheets: dict[str, SheetCounts] = Field(default_factory=dict)


class _Importer:
    """Applies rows through the same service functions as the API, collecting every row's error."""

    def __init__(self, session: AsyncSession, identity: Identity, scope_path: str | None) -> None:
        self.session = session
        self.identity = identity
        # The caller's scope cannot move during an import: its path is looked up once.
        self.scope_path = scope_path
        self.errors: list[RowError] = []
        self.counts: dict[str, SheetCounts] = {}

    async def unit(self, full_code: str) -> Unit:
        unit = await self.session.scalar(select(Unit).where(Unit.full_code == full_code).limit(1))
        if unit is None or not path_in_scope(unit.path, self.identity, self.scope_path):
            raise Problem(422, "unknown_code", f"no unit with code {full_code} in your scope")
        return unit

    async def household(self, code: str) -> Household:
        found = await self.session.scalar(select(Household.id).where(Household.code == code))
        if found is None:
            raise Problem(422, "unknown_code", f"no household {code}")
        return await households.get_household(self.session, identity=self.identity, household_id=found)

    async def person(self, id_number: str) -> Person:
        found = await self.session.scalar(select(Person.id).where(Person.id_number == normalise_id_number(id_number)))
        if found is None:
            raise Problem(422, "unknown_person", f"no person with ID number {mask_id_number(id_number)}")
        return await people.get_person(self.session, identity=self.identity, person_id=found)

    async def run(self, sheet: str, rows: Rows, apply: Callable[[dict[str, str]], Awaitable[str]]) -> None:
        counts = self.counts.setdefault(sheet, SheetCounts())
        for number, cells in rows:
            try:
                outcome = await apply(cells)
            except ValidationError as exc:
                for error in exc.errors():
                    column = str(error["loc"][0]) if error["loc"] else None
                    self.errors.append(RowError(sheet=sheet, row=number, column=column, message=error["msg"]))
                continue
            except Problem as problem:
                column = None
                if problem.errors and problem.errors[0].get("loc"):
                    column = str(problem.errors[0]["loc"][-1])
                self.errors.append(RowError(sheet=sheet, row=number, column=column, message=problem.detail or problem.code))
                continue
            except ValueError as exc:
                self.errors.append(RowError(sheet=sheet, row=number, column=None, message=str(exc)))
                continue
            setattr(counts, outcome, getattr(counts, outcome) + 1)

    async def unit_row(self, cells: dict[str, str]) -> str:
        data = UnitCreate.model_validate({"code": cells.get("code"), "name": cells.get("name"), "level": cells.get("level"), "parent_id": None})
        parent_code = blank(cells.get("parent_code"))
        full_code = f"{parent_code}.{data.code}" if parent_code else data.code
        existing = await self.session.scalar(select(Unit).where(Unit.full_code == full_code).limit(1))
        if existing is not None and path_in_scope(existing.path, self.identity, self.scope_path):
            if existing.level != data.level:
                raise Problem(422, "invalid_level", f"{full_code} is a {existing.level.value}, not a {data.level.value}")
            if existing.name == data.name:
                return "unchanged"
            await units.rename_unit(self.session, identity=self.identity, unit_id=existing.id, name=data.name)
            return "updated"
        parent = await self.unit(parent_code) if parent_code else None
        await units.create_unit(self.session, identity=self.identity, data=data.model_copy(update={"parent_id": parent.id if parent else None}))
        return "created"

    async def household_row(self, cells: dict[str, str]) -> str:
        tags = [t.strip() for t in (cells.get("tags") or "").replace(",", ";").split(";") if t.strip()]
        data = HouseholdCreate.model_validate(
            {"code": cells.get("code"), "address": cells.get("address"), "size": cells.get("size") or 1, "tags": tags, "unit_id": "-"}
        )
        unit = await self.unit(cells.get("unit_code") or "")
        found = await self.session.scalar(select(Household.id).where(Household.code == data.code))
        if found is None:
            await households.register_household(self.session, identity=self.identity, data=data.model_copy(update={"unit_id": unit.id}))
            return "created"
        household = await households.get_household(self.session, identity=self.identity, household_id=found)
        changed = False
        if (household.address, household.size, household.tags_text) != (data.address, data.size, tags_to_text(data.tags)):
            update = HouseholdUpdate(address=data.address, size=data.size, tags=[HouseholdTag(t) for t in data.tags])
            await households.update_household(self.session, identity=self.identity, household_id=household.id, data=update)
            changed = True
        if household.unit_id != unit.id:
            await households.move_household(self.session, identity=self.identity, household_id=household.id, unit_id=unit.id, moved_on=None)
            changed = True
        return "updated" if changed else "unchanged"

    async def person_row(self, cells: dict[str, str]) -> str:
        fields, details, relation, household, unit = await read_person_row(cells, household=self.household, unit=self.unit)
        found = await self.session.scalar(select(Person.id).where(Person.id_number == details.id_number))
        if found is None:
            data = PersonCreate.model_validate(
                {**fields, "household_id": household.id if household else None, "relation": relation, "unit_id": unit.id if unit else None}
            )
            await people.register_person(self.session, identity=self.identity, data=data)
            return "created"
        person = await people.get_person(self.session, identity=self.identity, person_id=found)
        changes = {k: v for k, v in details.model_dump().items() if getattr(person, k) != v}
        if changes:
            await people.update_person(self.session, identity=self.identity, person_id=person.id, data=PersonUpdate.model_validate(changes))
        moved = household is not None and person.household_id != household.id
        if moved:
            if person.household_id is not None:
                await people.end_membership(self.session, identity=self.identity, household_id=person.household_id, person_id=person.id, left_on=None, reason="import")
            await people.add_member(self.session, identity=self.identity, household_id=household.id, data=MembershipCreate(person_id=person.id, relation=relation))
        return "updated" if changes or moved else "unchanged"

    async def member_row(self, cells: dict[str, str]) -> str:
        person = await self.person(cells.get("id_number") or "")
        unit = await self.unit(cells.get("org_unit_code") or "")
        status = MemberStatus(cells["status"]) if blank(cells.get("status")) else MemberStatus.FULL
        data = PartyMemberCreate.model_validate({"person_id": person.id, "unit_id": unit.id, "joined_on": cells.get("joined_on"), "status": status})
        current = await self.session.scalar(
            select(PartyMember).where(PartyMember.person_id == person.id, or_(PartyMember.left_on.is_(None), PartyMember.left_on > today()))
        )
        if current is None:
            await party.join_member(self.session, identity=self.identity, data=data)
            return "created"
        org_unit = await self.session.scalar(select(PartyOrg.unit_id).where(PartyOrg.id == current.party_org_id))
        if org_unit != unit.id:
            raise Problem(409, "already_member", "the person is a member of another organisation; record the transfer in the registry")
        if current.status == status:
            return "unchanged"
        await party.set_status(self.session, identity=self.identity, member_id=current.id, status=status)
        return "updated"

    async def role_row(self, cells: dict[str, str]) -> str:
        person = await self.person(cells.get("id_number") or "")
        unit = await self.unit(cells.get("unit_code") or "")
        data = AssignmentCreate.model_validate(
            {"unit_id": unit.id, "person_id": person.id, "role": cells.get("role"), "title": blank(cells.get("title")), "starts_on": blank(cells.get("starts_on"))}
        )
        current = await self.session.scalar(
            select(Assignment.id).where(
                Assignment.unit_id == unit.id, Assignment.person_id == person.id, Assignment.role == data.role, assignments.current_condition(today())
            )
        )
        if current is not None:
            return "unchanged"
        await assignments.assign(self.session, identity=self.identity, data=data)
        return "created"

    async def liaison_row(self, cells: dict[str, str]) -> str:
        kind = LiaisonKind(cells.get("kind") or "")
        person = await self.person(cells.get("id_number") or "")
        household = await self.household(cells["household_code"]) if blank(cells.get("household_code")) else None
        unit = await self.unit(cells["unit_code"]) if blank(cells.get("unit_code")) else None
        existing = select(Liaison.id).where(Liaison.kind == kind, Liaison.person_id == person.id, liaisons.current_condition(today()))
        existing = existing.where(Liaison.household_id == household.id) if household else existing.where(Liaison.unit_id == (unit.id if unit else None))
        if await self.session.scalar(existing) is not None:
            return "unchanged"
        member_id = None
        if kind == LiaisonKind.MEMBER_HOUSEHOLD:
            member_id = await self.session.scalar(
                select(PartyMember.id).where(PartyMember.person_id == person.id, or_(PartyMember.left_on.is_(None), PartyMember.left_on > today()))
            )
            if member_id is None:
                raise Problem(422, "not_a_member", "the person is not a current party member")
        data = LiaisonCreate.model_validate(
            {
                "kind": kind,
                "member_id": member_id,
                "person_id": person.id,
                "household_id": household.id if household else None,
                "unit_id": unit.id if unit else None,
                "starts_on": blank(cells.get("starts_on")),
            }
        )
        await liaisons.link(self.session, identity=self.identity, data=data)
        return "created"


class ImportRejected(Exception):
    """Raised inside the import transaction so that nothing is kept."""

    def __init__(self, report: ImportReport, errors: list[RowError]) -> None:
        super().__init__("import rejected")
        self.report = report
        self.errors = errors


async def import_sheets(
    session: AsyncSession, *, identity: Identity, sheets: dict[str, Rows], dry_run: bool, bulk: bool = True
) -> ImportReport:
    """Apply every sheet in order; raise ImportRejected (rolling back) on any row error or for a dry run.

    With `bulk` (always, but in tests that compare both ways), rows that register new households, people,
    members, roles and links are checked on records looked up once per sheet and inserted in batches
    (`transfer.bulk`); every other row runs its single-record use case, as all rows do without `bulk`.
    """
    require_grid_admin(identity)
    await keep_tree_shape(session)
    scope_path = await units.scope_path_of(session, identity)
    importer = _Importer(session, identity, scope_path)
    handlers = {
        "units": importer.unit_row,
        "households": importer.household_row,
        "people": importer.person_row,
        "members": importer.member_row,
        "roles": importer.role_row,
        "liaisons": importer.liaison_row,
    }
    registry = BulkRegistry(session, identity, scope_path) if bulk else None
    fast = (
        {
            "households": registry.household_row,
            "people": registry.person_row,
            "members": registry.member_row,
            "roles": registry.role_row,
            "liaisons": registry.liaison_row,
        }
        if registry is not None
        else {}
    )
    for sheet in SHEETS:
        if sheet in sheets:
            rows = sheets[sheet]
            if sheet == "units":
                # Parents first, whatever the order in the file.
                rows = sorted(rows, key=lambda r: len([p for p in (r[1].get("parent_code") or "").split(".") if p]))
            handler = handlers[sheet]
            if registry is not None:
                if sheet in fast:
                    await registry.prefetch(sheet, rows)
                handler = _bulk_or_use_case(registry, fast.get(sheet), handler)
            await importer.run(sheet, rows, handler)
    report = ImportReport(dry_run=dry_run, applied=not dry_run and not importer.errors, sheets=importer.counts)
    if importer.errors or dry_run:
        raise ImportRejected(report, sorted(importer.errors, key=lambda e: (list(SHEETS).index(e.sheet), e.row)))
    if registry is not None:
        await registry.flush()
    return report


def _bulk_or_use_case(
    registry: BulkRegistry,
    fast: Callable[[dict[str, str]], Awaitable[str]] | None,
    use_case: Callable[[dict[str, str]], Awaitable[str]],
) -> Callable[[dict[str, str]], Awaitable[str]]:
    """A row handler: the bulk path first; the single-record use case, after writing what waits, when it must change a record."""

    async def apply(cells: dict[str, str]) -> str:
        if fast is not None:
            try:
                return await fast(cells)
            except UseCaseNeeded:
                pass
        await registry.flush()
        try:
            return await use_case(cells)
        finally:
            registry.clear()  # the use case may have changed what was looked up

    return apply


async def export_rows(session: AsyncSession, *, identity: Identity, under_id: str, sheets: list[str], full: bool) -> dict[str, list[dict]]:
    """The rows of each sheet for the subtree of `under_id` (current records; personal data masked unless `full`)."""
    root = await units.get_unit(session, identity=identity, unit_id=under_id)
    below = in_subtree(Unit.path, root.path)
    id_number = (lambda v: v) if full else mask_id_number
    phone = (lambda v: v) if full else mask_phone
    out: dict[str, list[dict]] = {}
    if "units" in sheets:
        parent = Unit.__table__.alias("parent")
        rows = await session.execute(
            select(Unit, parent.c.full_code).outerjoin(parent, parent.c.id == Unit.parent_id).where(below, Unit.retired_at.is_(None)).order_by(Unit.path)
        )
        out["units"] = [dict(code=u.code, parent_code=p or "", level=u.level.value, name=u.name) for u, p in rows.all()]
    if "households" in sheets:
        rows = await session.execute(
            select(Household, Unit.full_code).join(Unit, Unit.id == Household.unit_id).where(below, Household.dissolved_on.is_(None)).order_by(Household.code)
        )
        out["households"] = [
            dict(code=h.code, unit_code=c, address=h.address, size=h.size, tags=";".join(tags_from_text(h.tags_text))) for h, c in rows.all()
        ]
    if "people" in sheets:
        rows = await session.execute(
            select(Person, Unit.full_code, Household.code)
            .join(Unit, Unit.id == Person.unit_id)
            .outerjoin(Household, Household.id == Person.household_id)
            .where(below)
            .order_by(Person.name, Person.id)
        )
        relations = dict(
            (await session.execute(select(Person.id, Household.head_person_id).join(Household, Household.id == Person.household_id).join(Unit, Unit.id == Person.unit_id).where(below))).all()
        )
        out["people"] = [
            dict(
                id_number=id_number(p.id_number),
                name=p.name,
                gender=p.gender.value if isinstance(p.gender, Gender) else (p.gender or ""),
                birth_date=p.birth_date.isoformat() if (p.birth_date and full) else "",
                phone=phone(p.phone),
                household_code=h or "",
                relation=("head" if relations.get(p.id) == p.id else "") if h else "",
                unit_code="" if h else c,
            )
            for p, c, h in rows.all()
        ]
    if "members" in sheets:
        rows = await session.execute(
            select(PartyMember, Person.id_number, Unit.full_code)
            .join(Person, Person.id == PartyMember.person_id)
            .join(PartyOrg, PartyOrg.id == PartyMember.party_org_id)
            .join(Unit, Unit.id == PartyOrg.unit_id)
            .where(below, or_(PartyMember.left_on.is_(None), PartyMember.left_on > today()))
            .order_by(Unit.path, PartyMember.id)
        )
        out["members"] = [dict(id_number=id_number(n), org_unit_code=c, joined_on=m.joined_on.isoformat(), status=m.status.value) for m, n, c in rows.all()]
    if "roles" in sheets:
        rows = await session.execute(
            select(Assignment, Person.id_number, Unit.full_code)
            .join(Person, Person.id == Assignment.person_id)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(below, assignments.current_condition(today()))
            .order_by(Unit.path, Assignment.role, Assignment.id)
        )
        out["roles"] = [
            dict(id_number=id_number(n), unit_code=c, role=a.role.value, title=a.title or "", starts_on=a.starts_on.isoformat()) for a, n, c in rows.all()
        ]
    if "liaisons" in sheets:
        rows = await session.execute(
            select(Liaison, Person.id_number, Unit.full_code, Household.code)
            .join(Person, Person.id == Liaison.person_id)
            .join(Unit, Unit.id == Liaison.unit_id)
            .outerjoin(Household, Household.id == Liaison.household_id)
            .where(below, liaisons.current_condition(today()))
            .order_by(Unit.path, Liaison.id)
        )
        out["liaisons"] = [
            dict(
                kind=link.kind.value,
                id_number=id_number(n),
                household_code=h or "",
                unit_code="" if h else c,
                starts_on=link.starts_on.isoformat(),
            )
            for link, n, c, h in rows.all()
        ]
    return out

