"""Household use cases: register, update, move (with dated placements), dissolve, and "where was it on day D"."""

from __future__ import annotations

from datetime import date
from functools import cache

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.access import require_registry_writer
from grid_svc.dates import now
from grid_svc.households.models import (
    Household,
    HouseholdCreate,
    HouseholdLocation,
    HouseholdPlacement,
    HouseholdPublic,
    HouseholdTag,
    HouseholdTally,
    HouseholdUpdate,
    tags_from_text,
    tags_to_text,
)
from grid_svc.households.tallies import tally_households
from grid_svc.liaisons.models import Liaison
from grid_svc.people.models import Person
from grid_svc.units.models import Level, Unit
from grid_svc.units.service import UNIT_IN_SCOPE, get_unit, placement_on, scope_path_of
from grid_svc.units.shape import keep_tree_shape
from shared.database import Database
from shared.events.grid import HouseholdDissolved, HouseholdMoved, HouseholdRegistered, HouseholdUpdated, LiaisonUnlinked
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import today
from shared.outbox import emit
from shared.pagination import Page, PagedQuery, PageParams, page_of
from shared.problems import conflict, not_found, unprocessable
from shared.scope import (
    LIKE_ESCAPE,
    Place,
    caller_scope_path,
    contains_pattern,
    fetch_in_scope,
    in_named_subtree,
    list_place,
    list_subtree,
    path_ids,
    path_in_scope,
    town_of,
)

HOUSEHOLD_IN_SCOPE = (
    select(Household.__table__, Unit.path, Person.name.label("head_name"), caller_scope_path(Unit.id, Unit.path))
    .join(Unit, Unit.id == Household.unit_id)
    .outerjoin(Person, Person.id == Household.head_person_id)
    .where(Household.id == bindparam("household_id"))
)


async def read_household(db: Database, *, identity: Identity, household_id: str) -> HouseholdPublic:
    """The household with its head's name if its micro grid lies in the caller's scope, else 404 (one round trip)."""
    row = await fetch_in_scope(db, HOUSEHOLD_IN_SCOPE, identity, path="path", record="household", household_id=household_id)
    return HouseholdPublic.model_validate(row, from_attributes=True)


async def get_household(session: AsyncSession, *, identity: Identity, household_id: str) -> Household:
    """The household if its micro grid lies in the caller's scope, else 404."""
    row = (
        await session.execute(select(Household, Unit.path).join(Unit, Unit.id == Household.unit_id).where(Household.id == household_id))
    ).first()
    if row is None or not path_in_scope(row[1], identity, await scope_path_of(session, identity)):
        raise not_found("household")
    return row[0]


async def micro_grid_for_household(session: AsyncSession, *, identity: Identity, unit_id: str, loc: list) -> Unit:
    """A micro grid in scope that can take households, else 404/422."""
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    if unit.level != Level.MICRO_GRID:
        raise unprocessable(f"households belong to a micro grid, not a {unit.level.value}", code="invalid_level", loc=loc)
    if unit.retired_at is not None:
        raise unprocessable("the micro grid is retired", loc=loc)
    return unit


async def head_name(session: AsyncSession, household: Household) -> str | None:
    """The name of the household's head, if it has one."""
    if household.head_person_id is None:
        return None
    return await session.scalar(select(Person.name).where(Person.id == household.head_person_id))


def to_public(household: Household, head_name: str | None) -> HouseholdPublic:
    """The API shape of a loaded household, with its head's name."""
    return HouseholdPublic(
        id=household.id,
        code=household.code,
        address=household.address,
        size=household.size,
        unit_id=household.unit_id,
        head_person_id=household.head_person_id,
        head_name=head_name,
        tags=tags_from_text(household.tags_text),
        registered_on=household.registered_on,
        dissolved_on=household.dissolved_on,
        created_at=household.created_at,
        updated_at=household.updated_at,
    )


async def register_household(session: AsyncSession, *, identity: Identity, data: HouseholdCreate) -> Household:
    """Register a household in a micro grid; emit HouseholdRegistered."""
    require_registry_writer(identity)
    await keep_tree_shape(session)
    unit = await micro_grid_for_household(session, identity=identity, unit_id=data.unit_id, loc=["body", "unit_id"])
    if await session.scalar(select(Household.id).where(Household.code == data.code)) is not None:
        raise conflict(f"household code {data.code} is already registered", code="duplicate_code")
    moment = now()
    household = Household(
        id=new_id(),
        code=data.code,
        address=data.address,
        size=data.size,
        unit_id=unit.id,
        unit_path=unit.path,
        town_unit_id=town_of(unit.path),
        tags_text=tags_to_text(data.tags),
        registered_on=data.registered_on or today(),
        created_at=moment,
        updated_at=moment,
    )
    session.add(household)
    await session.flush()  # its placement points at it
    session.add(HouseholdPlacement(household_id=household.id, unit_id=unit.id, starts_on=household.registered_on))
    await tally_households(session, [(unit.path, 1)])
    emit(
        session,
        HouseholdRegistered(
            household_id=household.id,
            unit_id=unit.id,
            unit_path=unit.path,
            address=household.address,
            size=household.size,
            tags=tags_from_text(household.tags_text),
        ),
    )
    return household


async def update_household(session: AsyncSession, *, identity: Identity, household_id: str, data: HouseholdUpdate) -> Household:
    """Change address, size, tags or head (the head must be a current member); emit HouseholdUpdated."""
    require_registry_writer(identity)
    household = await get_household(session, identity=identity, household_id=household_id)
    changes = data.model_dump(exclude_unset=True)
    changed = False
    if "address" in changes and changes["address"] is not None:
        address = changes["address"].strip()
        if not address:
            raise unprocessable("address must not be blank", loc=["body", "address"])
        changed |= address != household.address
        household.address = address
    if changes.get("size") is not None:
        changed |= changes["size"] != household.size
        household.size = changes["size"]
    if changes.get("tags") is not None:
        text = tags_to_text(data.tags or [])
        changed |= text != household.tags_text
        household.tags_text = text
    if "head_person_id" in changes:
        head = changes["head_person_id"]
        if head is not None:
            member = await session.scalar(select(Person.id).where(Person.id == head, Person.household_id == household.id))
            if member is None:
                raise unprocessable("the head must be a current member of the household", loc=["body", "head_person_id"])
        changed |= head != household.head_person_id
        household.head_person_id = head
    if changed:
        household.updated_at = now()
        await emit_household_updated(session, household)
    return household


async def emit_household_updated(session: AsyncSession, household: Household) -> None:
    """Queue HouseholdUpdated with the household's current values."""
    emit(
        session,
        HouseholdUpdated(
            household_id=household.id,
            unit_id=household.unit_id,
            address=household.address,
            head_name=await head_name(session, household),
            size=household.size,
            tags=tags_from_text(household.tags_text),
        ),
    )


async def move_household(
    session: AsyncSession, *, identity: Identity, household_id: str, unit_id: str, moved_on: date | None
) -> Household:
    """Move a household to another micro grid from `moved_on`, keeping its placements; emit HouseholdMoved."""
    require_registry_writer(identity)
    await keep_tree_shape(session)
    household = await get_household(session, identity=identity, household_id=household_id)
    if household.dissolved_on is not None:
        raise conflict("the household is dissolved", code="dissolved")
    unit = await micro_grid_for_household(session, identity=identity, unit_id=unit_id, loc=["body", "unit_id"])
    if unit.id == household.unit_id:
        return household
    moved_on = moved_on or today()
    current = await session.scalar(
        select(HouseholdPlacement).where(HouseholdPlacement.household_id == household.id, HouseholdPlacement.ends_on.is_(None))
    )
    if current is not None:
        if moved_on < current.starts_on:
            raise unprocessable(
                f"moved_on must not be before {current.starts_on.isoformat()}, when the household took its current place",
                loc=["body", "moved_on"],
            )
        current.ends_on = moved_on
    from_unit_id = household.unit_id
    session.add(HouseholdPlacement(household_id=household.id, unit_id=unit.id, starts_on=moved_on))
    await tally_households(session, [(household.unit_path, -1), (unit.path, 1)])
    household.unit_id = unit.id
    household.unit_path = unit.path
    household.town_unit_id = town_of(unit.path)
    household.updated_at = now()
    # Members and household links follow the household, so scope and reports see it where it lives now.
    await session.execute(
        update(Person)
        .where(Person.household_id == household.id)
        .values(unit_id=unit.id, town_unit_id=household.town_unit_id, updated_at=household.updated_at)
    )
    await session.execute(
        update(Liaison)
        .where(Liaison.household_id == household.id, or_(Liaison.ends_on.is_(None), Liaison.ends_on > moved_on))
        .values(unit_id=unit.id)
    )
    emit(session, HouseholdMoved(household_id=household.id, from_unit_id=from_unit_id, unit_id=unit.id, unit_path=unit.path, moved_on=moved_on))
    return household


async def dissolve_household(session: AsyncSession, *, identity: Identity, household_id: str, dissolved_on: date | None) -> Household:
    """Close a household with no current members; its open liaison links end the same day."""
    require_registry_writer(identity)
    await keep_tree_shape(session)
    household = await get_household(session, identity=identity, household_id=household_id)
    if household.dissolved_on is not None:
        return household
    if await session.scalar(select(Person.id).where(Person.household_id == household.id).limit(1)) is not None:
        raise conflict("members must leave the household first", code="has_members")
    day = dissolved_on or today()
    if day < household.registered_on:
        raise unprocessable("dissolved_on is before the household was registered", loc=["body", "dissolved_on"])
    household.dissolved_on = day
    household.updated_at = now()
    await tally_households(session, [(household.unit_path, -1)])
    placement = await session.scalar(
        select(HouseholdPlacement).where(HouseholdPlacement.household_id == household.id, HouseholdPlacement.ends_on.is_(None))
    )
    if placement is not None:
        placement.ends_on = max(day, placement.starts_on)
    links = (
        await session.execute(select(Liaison).where(Liaison.household_id == household.id, or_(Liaison.ends_on.is_(None), Liaison.ends_on > day)))
    ).scalars().all()
    for link in links:
        link.ends_on = max(day, link.starts_on)
        emit(
            session,
            LiaisonUnlinked(
                liaison_id=link.id, kind=link.kind.value, person_id=link.person_id, household_id=household.id, unit_id=link.unit_id, ended_on=link.ends_on
            ),
        )
    emit(session, HouseholdDissolved(household_id=household.id, unit_id=household.unit_id, dissolved_on=day))
    return household


@cache
def households_page(*, within: Place, tag: bool, q: bool, include_dissolved: bool) -> PagedQuery:
    """The household list of one filter shape, built once: rows of households with their head's `head_name`,
    ordered by code. `within`: None (everywhere), "town" (bind `town_unit_id`: read in code order from the
    town's own index) or "subtree" (bind `subtree`, the root unit's path). Binds `tag` and `q` (`contains_pattern`s).
    Filtered by place only, the total is summed from the micro grids' tallies; other filters count the households."""
    # A correlated lookup, not a join: PostgreSQL evaluates it after the sort and limit, for the page's rows
    # only (joined, every household of the subtree looked up its head before the page was cut).
    head_name = select(Person.name).where(Person.id == Household.head_person_id).scalar_subquery().label("head_name")
    statement = select(Household.__table__, head_name)
    if within == "town":
        # Under a subtree's range the planner walks every household in code order and filters, past all of
        # the county's other towns when this one's codes sort late; the town's index holds its own in order.
        statement = statement.where(Household.town_unit_id == bindparam("town_unit_id"))
    elif within == "subtree":
        statement = statement.where(in_named_subtree(Household.unit_path))
    if tag:
        statement = statement.where(Household.tags_text.like(bindparam("tag"), escape=LIKE_ESCAPE))
    if q:
        statement = statement.where(
            or_(Household.code.like(bindparam("q"), escape=LIKE_ESCAPE), Household.address.like(bindparam("q"), escape=LIKE_ESCAPE))
        )
    if not include_dissolved:
        statement = statement.where(Household.dissolved_on.is_(None))
    count = None
    if not (tag or q or include_dissolved):
        count = select(func.coalesce(func.sum(HouseholdTally.households), 0))
        if within == "town":
            count = count.where(HouseholdTally.town_unit_id == bindparam("town_unit_id"))
        elif within == "subtree":
            count = count.where(in_named_subtree(HouseholdTally.unit_path))
    return PagedQuery.of(statement.order_by(Household.code, Household.id), count=count)


async def list_households(
    db: Database,
    *,
    identity: Identity,
    page: PageParams,
    under: str | None,
    tag: HouseholdTag | None,
    q: str | None,
    include_dissolved: bool,
) -> Page[HouseholdPublic]:
    """One page of the households in the caller's scope (optionally under a unit, with a tag, whose code or
    address contains `q`), ordered by code; 404 when `under` is missing or outside the scope."""
    subtree = await list_subtree(db, UNIT_IN_SCOPE, identity, under)
    within, params = list_place(subtree)
    query = households_page(within=within, tag=tag is not None, q=bool(q), include_dissolved=include_dissolved)
    if tag is not None:
        params["tag"] = contains_pattern(f",{tag.value},")
    if q:
        params["q"] = contains_pattern(q)
    rows, total = await query.fetch(db, page, params)
    return page_of(HouseholdPublic, rows, total, page)


async def placements(session: AsyncSession, *, identity: Identity, household_id: str) -> list[HouseholdPlacement]:
    """The household's micro grids over time, oldest first."""
    household = await get_household(session, identity=identity, household_id=household_id)
    rows = await session.execute(
        select(HouseholdPlacement).where(HouseholdPlacement.household_id == household.id).order_by(HouseholdPlacement.starts_on, HouseholdPlacement.id)
    )
    return list(rows.scalars().all())


async def location_on(session: AsyncSession, *, identity: Identity, household_id: str, day: date) -> HouseholdLocation:
    """The micro grid the household belonged to on `day`, with that grid's path and code on that day."""
    household = await get_household(session, identity=identity, household_id=household_id)
    placement = await session.scalar(
        select(HouseholdPlacement)
        .where(HouseholdPlacement.household_id == household.id, HouseholdPlacement.starts_on <= day)
        .where(or_(HouseholdPlacement.ends_on.is_(None), HouseholdPlacement.ends_on > day))
        .order_by(HouseholdPlacement.id.desc())
        .limit(1)
    )
    if placement is None:
        raise not_found(f"placement of the household on {day.isoformat()}")
    unit_then = await placement_on(session, unit_id=placement.unit_id, day=day)
    if unit_then is None:
        unit = await session.get(Unit, placement.unit_id)
        path, full_code = unit.path, unit.full_code
    else:
        path, full_code = unit_then.path, unit_then.full_code
    return HouseholdLocation(
        household_id=household.id,
        on=day,
        unit_id=placement.unit_id,
        unit_path=path,
        full_code=full_code,
        ancestor_ids=path_ids(path)[:-1],
    )
