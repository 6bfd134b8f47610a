"""Unit use cases: create, rename, move, retire, and subtree questions answered from the path index."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from shapely.geometry import shape
from shapely.validation import explain_validity
from sqlalchemy import (
    ARRAY,
    BindParameter,
    Date,
    Insert,
    Row,
    Select,
    String,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.access import require_grid_admin
from grid_svc.households.models import Household, HouseholdTally
from grid_svc.party.models import ORG_KIND_OF_LEVEL, PartyOrg, default_org_name
from grid_svc.people.models import Person
from grid_svc.units.models import Level, LevelCounts, Unit, UnitBatchItem, UnitCreate, UnitPlacement
from grid_svc.units.shape import keep_tree_shape, reshape_tree
from grid_svc.units.tallies import (
    ONE_UNIT,
    TALLIES_OF,
    TallyChanges,
    one_unit_params,
    tallied_below,
    tally_units,
    under_ancestors,
)
from shared.database import Database, once_per_read
from shared.events.grid import UnitCreated, UnitMoved, UnitRenamed, UnitRetired
from shared.identity import Identity, Role
from shared.ids import new_id
from shared.local_time import today
from shared.outbox import emit
from shared.problems import Problem, conflict, not_found, unprocessable
from shared.scope import (
    caller_scope_path,
    child_path,
    fetch_in_scope,
    in_subtree,
    path_ids,
    path_in_scope,
    rebased,
    scope_condition,
    town_of,
)


async def scope_path_of(session: AsyncSession, identity: Identity) -> str | None:
    """Materialised path of the caller's scope unit (None when unrestricted or unknown)."""
    if identity.unrestricted or identity.scope_unit_id is None:
        return None
    statement = select(Unit.path).where(Unit.id == identity.scope_unit_id)
    return await once_per_read(session, ("scope_path", identity.scope_unit_id), lambda: session.scalar(statement))


UNIT_IN_SCOPE = select(Unit.__table__, caller_scope_path(Unit.id, Unit.path)).where(Unit.id == bindparam("unit_id"))


async def read_unit(db: Database, *, identity: Identity, unit_id: str) -> Row:
    """The unit `unit_id` as a row, if it lies in the caller's scope, else 404 (one round trip)."""
    return await fetch_in_scope(db, UNIT_IN_SCOPE, identity, path="path", record="unit", unit_id=unit_id)


async def get_unit(session: AsyncSession, *, identity: Identity, unit_id: str) -> Unit:
    """The unit `unit_id` if it lies in the caller's scope, else 404."""
    unit = await session.get(Unit, unit_id)
    if unit is None or not path_in_scope(unit.path, identity, await scope_path_of(session, identity)):
        raise not_found("unit")
    return unit


def list_units_query(
    *,
    identity: Identity,
    scope_path: str | None,
    under: Unit | None,
    level: Level | None,
    name_contains: str | None,
    include_retired: bool,
) -> Select:
    """Units in scope (optionally under a unit, of a level), ordered by path."""
    statement = select(Unit).where(scope_condition(Unit.path, identity, scope_path))
    if under is not None:
        statement = statement.where(in_subtree(Unit.path, under.path), Unit.id != under.id)
    if level is not None:
        statement = statement.where(Unit.level == level)
    if name_contains:
        statement = statement.where(Unit.name.contains(name_contains, autoescape=True))
    if not include_retired:
        statement = statement.where(Unit.retired_at.is_(None))
    return statement.order_by(Unit.path)


def list_units_total(*, under: Unit | None, level: Level | None, name_contains: str | None, include_retired: bool) -> Select | None:
    """The total of `list_units_query` read from the tallies of `under` (in the caller's scope, so all below it
    is), when the list asks for active units by place and level only; None when the units must be counted."""
    if under is None or name_contains or include_retired:
        return None
    return tallied_below(under.id, level.value if level is not None else None)


def _geometry(boundary: dict[str, Any] | None) -> dict[str, float | None]:
    """Centroid and bounding box of a GeoJSON polygon (all None without a boundary); 422 when invalid."""
    if boundary is None:
        return dict(centroid_lng=None, centroid_lat=None, min_lng=None, min_lat=None, max_lng=None, max_lat=None)
    try:
        geometry = shape(boundary)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise unprocessable(f"boundary is not valid GeoJSON: {exc}", loc=["body", "boundary"]) from exc
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise unprocessable("boundary must be a Polygon or MultiPolygon", loc=["body", "boundary"])
    if not geometry.is_valid:
        raise unprocessable(f"boundary is not a valid polygon: {explain_validity(geometry)}", loc=["body", "boundary"])
    centroid = geometry.centroid
    min_lng, min_lat, max_lng, max_lat = geometry.bounds
    return dict(centroid_lng=centroid.x, centroid_lat=centroid.y, min_lng=min_lng, min_lat=min_lat, max_lng=max_lng, max_lat=max_lat)


_units = Unit.__table__
_siblings = _units.alias("siblings")

# Hot-path statements are built once with named parameters, on the tables (not the ORM classes): SQLAlchemy finds
# them compiled in its cache, and the session runs them as plain Core, without the ORM's per-statement work.
# What a new unit needs of its parent (`_Parent`), with the caller's scope path.
_PARENT_COLUMNS = (
    _units.c.id, _units.c.level, _units.c.path, _units.c.full_code, _units.c.retired_at, caller_scope_path(_units.c.id, _units.c.path)
)
PARENT_OF_NEW_UNIT = select(
    *_PARENT_COLUMNS,
    exists().where(_siblings.c.parent_id == _units.c.id, _siblings.c.code == bindparam("code")).label("code_taken"),
).where(_units.c.id == bindparam("unit_id"))
"""A new unit's parent (bind `unit_id`), the caller's scope path and whether a child already has `code`."""

PARENTS_OF_NEW_UNITS = select(*_PARENT_COLUMNS).where(_units.c.id.in_(bindparam("unit_ids", expanding=True)))
"""The parents a batch names (bind `unit_ids`), with the caller's scope path."""


def _codes_under(dialect: str) -> Select:
    """(parent, code) of existing children among the pairs asked (binds `parent_ids` and `codes`, aligned lists).

    On PostgreSQL the pairs are joined as rows: with two IN lists, a prepared statement's generic plan (taken
    after five runs) looked up the index by parent alone and filtered the codes, every child of a busy parent
    read at each batch. Elsewhere two IN lists, a superset of the pairs (the caller checks each pair)."""
    if dialect == "postgresql":
        asked = func.unnest(bindparam("parent_ids", type_=ARRAY(String)), bindparam("codes", type_=ARRAY(String)))
        pairs = asked.table_valued("parent_id", "code").render_derived(name="asked")
        on = and_(_units.c.parent_id == pairs.c.parent_id, _units.c.code == pairs.c.code)
        return select(_units.c.parent_id, _units.c.code).join(pairs, on)
    return select(_units.c.parent_id, _units.c.code).where(
        _units.c.parent_id.in_(bindparam("parent_ids", expanding=True)), _units.c.code.in_(bindparam("codes", expanding=True))
    )


CODES_UNDER = {dialect: _codes_under(dialect) for dialect in ("postgresql", "sqlite")}
_code = _units.c.code == bindparam("code")
SIBLING_WITH_CODE = select(_units.c.id).where(_units.c.parent_id == bindparam("parent_id"), _code).limit(1)
ROOT_WITH_CODE = select(_units.c.id).where(_units.c.parent_id.is_(None), _code).limit(1)
_placements = UnitPlacement.__table__
_party_orgs = PartyOrg.__table__
INSERT_UNITS = insert(_units)
INSERT_PLACEMENTS = insert(_placements)
INSERT_PARTY_ORGS = insert(_party_orgs)


def _named_values(table: Table, prefix: str) -> dict[str, BindParameter]:
    """Every column of `table` bound to a parameter named `prefix` + column (a placement's id is the database's)."""
    return {c.name: bindparam(f"{prefix}{c.name}") for c in table.c if c is not _placements.c.id}


def _unit_with_followers(party_org: bool) -> Insert:
    """One unit with its placement (and party organisation), counted under its ancestors, in one PostgreSQL
    statement: the rows of a data-modifying WITH are checked against their foreign keys at the statement's end,
    once all exist."""
    unit = insert(_units).values(_named_values(_units, "unit_")).cte("new_unit")
    tallied = ONE_UNIT.cte("tallied")
    placement = insert(_placements).values(_named_values(_placements, "placement_"))
    if not party_org:
        return placement.add_cte(unit, tallied)
    return insert(_party_orgs).values(_named_values(_party_orgs, "org_")).add_cte(unit, tallied, placement.cte("new_placement"))


UNIT_WITH_FOLLOWERS = {party_org: _unit_with_followers(party_org) for party_org in (False, True)}


async def _sibling_code_taken(session: AsyncSession, parent_id: str | None, code: str) -> bool:
    if parent_id is None:
        return (await session.scalar(ROOT_WITH_CODE, {"code": code})) is not None
    return (await session.scalar(SIBLING_WITH_CODE, {"parent_id": parent_id, "code": code})) is not None


class _Parent(NamedTuple):
    """What a new unit needs of its parent: a row of `PARENT_OF_NEW_UNIT`, or a unit made earlier in a batch."""

    id: str
    level: Level
    path: str
    full_code: str
    retired_at: datetime | None
    code_taken: bool


async def _parent_of_new_unit(session: AsyncSession, identity: Identity, parent_id: str, code: str) -> _Parent:
    """The parent `parent_id` if it lies in the caller's scope (else 404), with whether `code` is taken under it."""
    params = {"unit_id": parent_id, "scope_unit_id": identity.scope_unit_id, "code": code}
    row = (await session.execute(PARENT_OF_NEW_UNIT, params)).first()
    return _parent_in_scope(row, identity, code_taken=row is not None and bool(row.code_taken))


def _parent_in_scope(row: Row | None, identity: Identity, *, code_taken: bool) -> _Parent:
    """The parent read with `_PARENT_COLUMNS`, if it lies in the caller's scope; 404 when missing or outside."""
    if row is None or not path_in_scope(row.path, identity, row.scope_path):
        raise not_found("unit")
    return _Parent(row.id, row.level, row.path, row.full_code, row.retired_at, code_taken)


class _KnownParents:
    """The existing parents a batch names and the codes already used under them, read in two statements for the
    whole batch (not one per item)."""

    def __init__(self, identity: Identity, rows: dict[str, Row], taken: set[tuple[str, str]]) -> None:
        self.identity = identity
        self.rows = rows
        self.taken = taken

    @classmethod
    async def load(cls, session: AsyncSession, identity: Identity, items: list[UnitBatchItem]) -> _KnownParents:
        """Read the parents of the items that name an existing one (`parent_id` alone)."""
        named = [item for item in items if item.parent_id is not None and item.parent_ref is None]
        if not named:
            return cls(identity, {}, set())
        params = {"unit_ids": sorted({item.parent_id for item in named}), "scope_unit_id": identity.scope_unit_id}
        rows = {row.id: row for row in await session.execute(PARENTS_OF_NEW_UNITS, params)}
        asked = sorted({(item.parent_id, item.code) for item in named if item.parent_id in rows})
        taken: set[tuple[str, str]] = set()
        if asked:
            parent_ids, codes = (list(column) for column in zip(*asked, strict=True))
            statement = CODES_UNDER[session.get_bind().dialect.name]
            found = await session.execute(statement, {"parent_ids": parent_ids, "codes": codes})
            taken = {(parent_id, code) for parent_id, code in found}
        return cls(identity, rows, taken)

    def parent(self, parent_id: str, code: str) -> _Parent:
        """The parent `parent_id` if it lies in the caller's scope (else 404), with whether `code` is taken under it."""
        return _parent_in_scope(self.rows.get(parent_id), self.identity, code_taken=(parent_id, code) in self.taken)


class _NewRows:
    """Rows of new units and of what follows them (placements, party organisations), inserted together."""

    def __init__(self) -> None:
        self.units: list[dict[str, Any]] = []
        self.placements: list[dict[str, Any]] = []
        self.party_orgs: list[dict[str, Any]] = []

    async def insert(self, session: AsyncSession) -> None:
        """Insert the rows and count the units under their ancestors: one unit in one statement on PostgreSQL (one
        round trip, not four); otherwise one INSERT per table (units first: the others point at them), each row list
        sent in one execution, then the tallies."""
        if len(self.units) == 1 and session.bind.dialect.name == "postgresql":
            unit = self.units[0]
            params = {f"unit_{name}": value for name, value in unit.items()}
            params.update({f"placement_{name}": value for name, value in self.placements[0].items()})
            if self.party_orgs:
                params.update({f"org_{name}": value for name, value in self.party_orgs[0].items()})
            params.update(await one_unit_params(session, unit["path"], str(unit["level"])))
            await session.execute(UNIT_WITH_FOLLOWERS[bool(self.party_orgs)], params)
            return
        tables = ((INSERT_UNITS, self.units), (INSERT_PLACEMENTS, self.placements), (INSERT_PARTY_ORGS, self.party_orgs))
        for statement, rows in tables:
            if rows:
                await session.execute(statement, rows)
        changes = TallyChanges()
        for unit in self.units:
            changes.update(under_ancestors(unit["path"], {str(unit["level"]): 1}))
        await tally_units(session, changes)


async def create_unit(session: AsyncSession, *, identity: Identity, data: UnitCreate) -> dict[str, Any]:
    """Add a unit under its parent (a county at the root); emit UnitCreated. Returns the stored unit's columns."""
    require_grid_admin(identity)
    await keep_tree_shape(session)
    parent = None if data.parent_id is None else await _parent_of_new_unit(session, identity, data.parent_id, data.code)
    rows = _NewRows()
    unit = await _add_unit(session, identity=identity, data=data, parent=parent, rows=rows)
    await rows.insert(session)
    return unit


async def create_units(session: AsyncSession, *, identity: Identity, items: list[UnitBatchItem]) -> list[dict[str, Any]]:
    """Add many units in order, each validated as `create_unit` does; parents may be earlier items.

    Returns the stored units' columns; the rows are inserted once every item has passed.
    """
    require_grid_admin(identity)
    await keep_tree_shape(session)
    known = await _KnownParents.load(session, identity, items)
    by_ref: dict[str, _Parent] = {}
    created: list[dict[str, Any]] = []
    batch = _Batch()
    for index, item in enumerate(items):
        if item.parent_ref is not None and item.parent_id is not None:
            raise unprocessable("give parent_id or parent_ref, not both", loc=["body", "units", index, "parent_ref"])
        if item.parent_ref is not None:
            parent = by_ref.get(item.parent_ref)
            if parent is None:
                raise unprocessable(f"no earlier item has ref {item.parent_ref}", loc=["body", "units", index, "parent_ref"])
            data = UnitCreate.model_validate({**item.model_dump(exclude={"ref", "parent_ref"}), "parent_id": parent.id})
        else:
            parent = None if item.parent_id is None else known.parent(item.parent_id, item.code)
            data = UnitCreate.model_validate(item.model_dump(exclude={"ref", "parent_ref"}))
        try:
            unit = await _add_unit(session, identity=identity, data=data, parent=parent, rows=batch.rows, batch=batch)
        except Problem as problem:
            # Say which item failed: the batch is all or nothing.
            problem.detail = f"units[{index}]: {problem.detail}"
            if problem.errors:
                for error in problem.errors:
                    error["loc"] = ["body", "units", index, *error["loc"][1:]]
            raise
        if item.ref is not None:
            if item.ref in by_ref:
                raise unprocessable(f"ref {item.ref} is used twice", loc=["body", "units", index, "ref"])
            # A parent made in this batch has no children in the database.
            by_ref[item.ref] = _Parent(unit["id"], unit["level"], unit["path"], unit["full_code"], None, code_taken=False)
        created.append(unit)
    await batch.rows.insert(session)
    return created


class _Batch:
    """What a batch knows without asking the database: codes it used under each parent, and the rows to insert."""

    def __init__(self) -> None:
        self.codes: set[tuple[str | None, str]] = set()
        self.rows = _NewRows()


async def _add_unit(
    session: AsyncSession,
    *,
    identity: Identity,
    data: UnitCreate,
    parent: _Parent | None,
    rows: _NewRows,
    batch: _Batch | None = None,
) -> dict[str, Any]:
    """Validate a new unit under `parent` and queue its rows in `rows` (and its event); its columns."""
    if parent is None:
        if data.level != Level.COUNTY:
            raise unprocessable("only a county may be created without a parent", loc=["body", "parent_id"])
        if identity.role != Role.PLATFORM_ADMIN:
            raise Problem(403, "forbidden", "only a platform admin creates counties")
    else:
        if parent.retired_at is not None:
            raise unprocessable("the parent unit is retired", loc=["body", "parent_id"])
        if parent.level.child != data.level:
            expected = parent.level.child.value if parent.level.child else "nothing (micro grids have no children)"
            raise unprocessable(
                f"a unit under a {parent.level.value} must be a {expected}, not a {data.level.value}",
                code="invalid_level",
                loc=["body", "level"],
            )
    parent_id = parent.id if parent else None
    if batch is not None and (parent_id, data.code) in batch.codes:
        taken = True
    elif parent is None:
        taken = await _sibling_code_taken(session, None, data.code)
    else:
        taken = parent.code_taken
    if taken:
        raise conflict(f"code {data.code} is already used under this parent", code="duplicate_code")
    geometry = _geometry(data.boundary)
    now = datetime.now(UTC)
    unit_id = new_id()
    path = child_path(parent.path if parent else None, unit_id)
    full_code = f"{parent.full_code}.{data.code}" if parent else data.code
    unit = dict(
        id=unit_id,
        code=data.code,
        name=data.name,
        level=data.level,
        parent_id=parent_id,
        path=path,
        full_code=full_code,
        boundary=data.boundary,
        **geometry,
        created_at=now,
        updated_at=now,
        retired_at=None,
    )
    rows.units.append(unit)
    starts_on = data.established_on or today()
    placement = dict(unit_id=unit_id, parent_id=parent_id, path=path, full_code=full_code, starts_on=starts_on, ends_on=None)
    rows.placements.append(placement)
    kind = ORG_KIND_OF_LEVEL.get(data.level)
    if kind is not None:
        # The party organisation mirrors the tree: every town, village and grid gets its own.
        rows.party_orgs.append(
            dict(id=new_id(), unit_id=unit_id, kind=kind, name=default_org_name(data.name, kind), created_at=now, updated_at=now)
        )
    if batch is not None:
        batch.codes.add((parent_id, data.code))
    emit(
        session,
        UnitCreated(
            unit_id=unit_id,
            code=data.code,
            full_code=full_code,
            name=data.name,
            level=data.level.value,
            parent_id=parent_id,
            path=path,
        ),
    )
    return unit


async def rename_unit(session: AsyncSession, *, identity: Identity, unit_id: str, name: str) -> Unit:
    """Give a unit a new name; emit UnitRenamed."""
    require_grid_admin(identity)
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    name = name.strip()
    if not name:
        raise unprocessable("name must not be blank", loc=["body", "name"])
    if name != unit.name:
        unit.name = name
        unit.updated_at = datetime.now(UTC)
        emit(session, UnitRenamed(unit_id=unit.id, name=name))
    return unit


async def set_boundary(session: AsyncSession, *, identity: Identity, unit_id: str, boundary: dict[str, Any] | None) -> Unit:
    """Set or clear a unit's boundary (its centroid follows)."""
    require_grid_admin(identity)
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    for name, value in _geometry(boundary).items():
        setattr(unit, name, value)
    unit.boundary = boundary
    unit.updated_at = datetime.now(UTC)
    return unit


async def move_unit(
    session: AsyncSession, *, identity: Identity, unit_id: str, parent_id: str, moved_on: date | None = None
) -> Unit:
    """Re-parent a unit and its whole subtree (one UPDATE over the path range, history kept); emit UnitMoved."""
    require_grid_admin(identity)
    await reshape_tree(session)
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    parent = await get_unit(session, identity=identity, unit_id=parent_id)
    if unit.parent_id is None:
        raise unprocessable("a root unit cannot be moved", loc=["path", "unit_id"])
    if parent.path.startswith(unit.path):
        raise unprocessable("a unit cannot move under itself or its own descendants", code="cycle", loc=["body", "parent_id"])
    if parent.level.child != unit.level:
        raise unprocessable(
            f"a {unit.level.value} cannot be placed under a {parent.level.value}", code="invalid_level", loc=["body", "parent_id"]
        )
    if parent.retired_at is not None:
        raise unprocessable("the new parent is retired", loc=["body", "parent_id"])
    if parent.id == unit.parent_id:
        return unit
    if await _sibling_code_taken(session, parent.id, unit.code):
        raise conflict(f"code {unit.code} is already used under the new parent", code="duplicate_code")
    old_path, old_full_code = unit.path, unit.full_code
    new_path = child_path(parent.path, unit.id)
    new_full_code = f"{parent.full_code}.{unit.code}"
    now = datetime.now(UTC)
    moved_on = moved_on or today()
    subtree_ids = select(Unit.id).where(in_subtree(Unit.path, old_path)).scalar_subquery()
    open_placement = (UnitPlacement.unit_id.in_(subtree_ids), UnitPlacement.ends_on.is_(None))
    latest_start = await session.scalar(select(func.max(UnitPlacement.starts_on)).where(*open_placement))
    if latest_start is not None and moved_on < latest_start:
        raise unprocessable(
            f"moved_on must not be before {latest_start.isoformat()}, when the subtree took its current place",
            loc=["body", "moved_on"],
        )
    await session.execute(
        update(UnitPlacement).where(*open_placement).values(ends_on=moved_on).execution_options(synchronize_session=False)
    )
    # The subtree (the unit unless retired, and the units its tallies count) leaves the old ancestors' tallies
    # for the new ones'; the tallies of the units inside it are keyed by id and stay as they are.
    subtree = Counter({level: units for level, units in await session.execute(TALLIES_OF, {"unit_id": unit.id})})
    if unit.retired_at is None:
        subtree[unit.level.value] += 1
    changes = under_ancestors(old_path, subtree, -1)
    changes.update(under_ancestors(new_path, subtree))
    await tally_units(session, changes)
    await session.execute(
        update(Unit)
        .where(in_subtree(Unit.path, old_path))
        .values(
            path=rebased(Unit.path, old_path, new_path),
            full_code=rebased(Unit.full_code, old_full_code, new_full_code),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(update(Unit).where(Unit.id == unit.id).values(parent_id=parent.id))
    # The subtree's households keep their micro grid's path (dissolved ones too: they are listed on request)
    # and its town, and so do the micro grids' tallies: a moved unit has a parent, so its new path names the town
    # of all below it.
    await session.execute(
        update(Household)
        .where(in_subtree(Household.unit_path, old_path))
        .values(unit_path=rebased(Household.unit_path, old_path, new_path), town_unit_id=town_of(new_path))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(HouseholdTally)
        .where(in_subtree(HouseholdTally.unit_path, old_path))
        .values(unit_path=rebased(HouseholdTally.unit_path, old_path, new_path), town_unit_id=town_of(new_path))
        .execution_options(synchronize_session=False)
    )
    # So do the people registered on its units.
    await session.execute(
        update(Person)
        .where(Person.unit_id.in_(select(Unit.id).where(in_subtree(Unit.path, new_path))))
        .values(town_unit_id=town_of(new_path))
        .execution_options(synchronize_session=False)
    )
    # Every unit of the subtree starts a new period at its new path, in one INSERT … SELECT.
    await session.execute(
        insert(UnitPlacement).from_select(
            ["unit_id", "parent_id", "path", "full_code", "starts_on"],
            select(Unit.id, Unit.parent_id, Unit.path, Unit.full_code, literal(moved_on, Date)).where(in_subtree(Unit.path, new_path)),
        )
    )
    await session.refresh(unit)
    emit(session, UnitMoved(unit_id=unit.id, parent_id=parent.id, old_path=old_path, path=new_path, full_code=new_full_code))
    return unit


async def retire_unit(session: AsyncSession, *, identity: Identity, unit_id: str) -> Unit:
    """Retire a unit whose children are all retired (soft; it stays for history); emit UnitRetired."""
    require_grid_admin(identity)
    await keep_tree_shape(session)
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    if unit.retired_at is not None:
        return unit
    active_child = await session.scalar(select(Unit.id).where(Unit.parent_id == unit.id, Unit.retired_at.is_(None)).limit(1))
    if active_child is not None:
        raise conflict("retire or move the unit's children first", code="has_active_children")
    household = await session.scalar(select(Household.id).where(Household.unit_id == unit.id, Household.dissolved_on.is_(None)).limit(1))
    if household is not None:
        raise conflict("move or dissolve the unit's households first", code="has_households")
    unit.retired_at = unit.updated_at = datetime.now(UTC)
    # Its children are all retired: the unit alone leaves its ancestors' tallies.
    await tally_units(session, under_ancestors(unit.path, {unit.level.value: 1}, -1))
    emit(session, UnitRetired(unit_id=unit.id, retired_at=unit.retired_at))
    return unit


async def ancestors(session: AsyncSession, *, identity: Identity, unit_id: str) -> list[Unit]:
    """The unit's ancestors from the root down, then the unit (a breadcrumb), within the caller's scope."""
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    ids = path_ids(unit.path)
    scope_path = await scope_path_of(session, identity)
    rows = (await session.execute(select(Unit).where(Unit.id.in_(ids)))).scalars().all()
    by_id = {u.id: u for u in rows if path_in_scope(u.path, identity, scope_path)}
    return [by_id[i] for i in ids if i in by_id]


async def level_counts(db: Database, *, identity: Identity, unit_id: str) -> LevelCounts:
    """Active units per level strictly under `unit_id`, read from its tallies (two round trips, whatever the subtree's size)."""
    unit = await read_unit(db, identity=identity, unit_id=unit_id)
    rows = await db.fetch_all(TALLIES_OF, {"unit_id": unit.id})
    return LevelCounts(unit_id=unit.id, **{level: units for level, units in rows})


async def placements(session: AsyncSession, *, identity: Identity, unit_id: str) -> list[UnitPlacement]:
    """The unit's positions in the tree over time, oldest first."""
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    rows = await session.execute(
        select(UnitPlacement).where(UnitPlacement.unit_id == unit.id).order_by(UnitPlacement.starts_on, UnitPlacement.id)
    )
    return list(rows.scalars().all())


async def placement_on(session: AsyncSession, *, unit_id: str, day: date) -> UnitPlacement | None:
    """Where the unit sat in the tree on `day` (the latest period when several started that day)."""
    return await session.scalar(
        select(UnitPlacement)
        .where(UnitPlacement.unit_id == unit_id, UnitPlacement.starts_on <= day)
        .where((UnitPlacement.ends_on.is_(None)) | (UnitPlacement.ends_on > day))
        .order_by(UnitPlacement.id.desc())
        .limit(1)
    )
