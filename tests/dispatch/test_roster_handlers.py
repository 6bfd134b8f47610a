"""dispatch-svc's roster kept from grid-svc's events: households, people, party members, liaison links.

Runs the handlers on real databases (SQLite and PostgreSQL) as the consumer does: a poll's events in
one transaction, consecutive creates of one type handed over together. Whatever the grouping, the
rows are those of applying each event alone, and events that overtook each other converge.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from dispatch_svc.db import metadata
from dispatch_svc.roster.handlers import HANDLERS
from dispatch_svc.roster.models import Household, Liaison, Member, Person
from harness import database_with, envelope_of, executions_on
from shared.database import Database
from shared.events.grid import (
    HouseholdDissolved,
    HouseholdMoved,
    HouseholdRegistered,
    HouseholdUpdated,
    LiaisonLinked,
    LiaisonUnlinked,
    MemberJoined,
    MemberLeft,
    PersonJoined,
    PersonLeft,
)
from shared.ids import new_id
from shared.inbox import RunHandler, apply_in_order

TABLES = {"households": Household.__table__, "people": Person.__table__, "members": Member.__table__, "liaisons": Liaison.__table__}


@pytest.fixture(scope="module")
async def database(backend, tmp_path_factory):
    async with database_with(metadata, backend, tmp_path_factory.mktemp("roster"), "dispatch_roster") as db:
        yield db


async def apply(db: Database, events: list) -> None:
    """One transaction, as the consumer applies a poll's batch (consecutive creates in one call)."""
    async with db.transaction() as session:
        await apply_in_order(session, [(event, envelope_of(event), HANDLERS[type(event)]) for event in events], "test")


async def apply_one_by_one(db: Database, events: list) -> None:
    """Each event in its own transaction, by its handler alone (a consumer's retry)."""
    for event in events:
        async with db.transaction() as session:
            await HANDLERS[type(event)](session, event, envelope_of(event))


async def rows(db: Database, ids: dict[str, str]) -> dict[str, list[dict]]:
    """The roster's rows for `ids` (name → id), in the order of `ids`, without their update times; every id in
    them given by its name, so that rows made from two sets of ids compare."""
    name_of = {value: name for name, value in ids.items()}
    found: dict[str, list[dict]] = {}
    async with db.session() as session:
        for table_name, table in TABLES.items():
            by_id = {
                row["id"]: {k: name_of.get(v, v) for k, v in row.items() if k != "updated_at"}
                for row in (await session.execute(select(table).where(table.c.id.in_(list(ids.values()))))).mappings()
            }
            found[table_name] = [by_id[i] for i in ids.values() if i in by_id]
    return found


def registry_events(ids: dict[str, str]) -> list:
    """A registry as a bulk import sends it, with a replay and a change of mind inside each run, and events that
    overtook the ones they follow (a move before its registration, an end before its link)."""
    h1, h2, p1, p2, p3, m1, l1, l2, unit = (ids[k] for k in ("h1", "h2", "p1", "p2", "p3", "m1", "l1", "l2", "unit"))
    path = "/town/village/micro-grid/"
    return [
        HouseholdMoved(household_id=h2, from_unit_id="elsewhere", unit_id=unit, unit_path=path, moved_on=date(2026, 3, 1)),
        HouseholdRegistered(household_id=h1, unit_id=unit, unit_path=path, address="禹王村1号", head_name=None),
        HouseholdRegistered(household_id=h2, unit_id=unit, unit_path=path, address="禹王村2号", head_name="王某"),
        HouseholdRegistered(household_id=h1, unit_id=unit, unit_path=path, address="禹王村1号之一", head_name="李某"),
        HouseholdUpdated(household_id=h1, unit_id=unit, address="禹王村1号之二", head_name="李某"),
        PersonJoined(person_id=p1, name="李某", household_id=h1, unit_id=unit, unit_path=path),
        PersonJoined(person_id=p2, name="王某", household_id=h2, unit_id=unit, unit_path=path),
        PersonJoined(person_id=p3, name="赵某", household_id=None, unit_id=unit, unit_path=path),
        PersonJoined(person_id=p2, name="王某某", household_id=h1, unit_id=unit, unit_path=path),
        MemberJoined(member_id=m1, person_id=p1, name="李某", party_org_id="org", org_kind="branch", org_unit_id=unit,
                     org_unit_path=path, joined_on=date(2020, 7, 1)),
        LiaisonUnlinked(liaison_id=l2, kind="member_household", person_id=p1, household_id=h2, unit_id=unit, ended_on=date(2026, 5, 1)),
        LiaisonLinked(liaison_id=l1, kind="cadre_grid", person_id=p3, name="赵某", unit_id=unit, unit_path=path,
                      starts_on=date(2026, 1, 1)),
        LiaisonLinked(liaison_id=l2, kind="member_household", person_id=p1, name="李某", member_id=m1, household_id=h2,
                      unit_id=unit, unit_path=path, starts_on=date(2026, 2, 1)),
    ]  # fmt: skip


def fresh_ids() -> dict[str, str]:
    return {k: new_id() for k in ("h1", "h2", "p1", "p2", "p3", "m1", "l1", "l2", "unit")}


async def test_creates_handed_over_together_leave_the_rows_of_applying_each_event_alone(database: Database):
    together, alone = fresh_ids(), fresh_ids()
    await apply(database, registry_events(together))
    await apply_one_by_one(database, registry_events(alone))
    got = await rows(database, together)
    assert got == await rows(database, alone)
    # What applying each event alone means: the last write of a replayed record stands, a move that came
    # first is overwritten by the registration, an end that came first stays on the link it ended.
    assert [(h["address"], h["head_name"]) for h in got["households"]] == [("禹王村1号之二", "李某"), ("禹王村2号", "王某")]
    assert [(p["name"], p["household_id"]) for p in got["people"]] == [
        ("李某", "h1"), ("王某某", "h1"), ("赵某", None),
    ]
    assert [(link["name"], link["starts_on"], link["ended_on"]) for link in got["liaisons"]] == [
        ("赵某", date(2026, 1, 1), None), ("李某", date(2026, 2, 1), date(2026, 5, 1)),
    ]


async def test_a_run_of_creates_is_one_execution(database: Database):
    ids = [new_id() for _ in range(5)]
    assert isinstance(HANDLERS[PersonJoined], RunHandler)
    with executions_on(database.engine, "roster_people") as executions:
        await apply(database, [PersonJoined(person_id=i, name="某", household_id=None, unit_id=None, unit_path=None) for i in ids])
    assert executions == [("INSERT", 5)]
    assert len((await rows(database, dict(enumerate(ids))))["people"]) == 5


async def test_a_record_back_after_leaving_is_current_again_and_what_ended_stays_ended(database: Database):
    ids = fresh_ids()
    events = registry_events(ids)
    await apply(database, events)
    await apply(
        database,
        [
            HouseholdDissolved(household_id=ids["h2"], unit_id=ids["unit"], dissolved_on=date(2026, 6, 1)),
            PersonLeft(person_id=ids["p3"], household_id=None, unit_id=ids["unit"], left_on=date(2026, 6, 2), reason="moved_away"),
            MemberLeft(member_id=ids["m1"], person_id=ids["p1"], left_on=date(2026, 6, 3), reason="transferred"),
        ],
    )
    # Joined again, the person and the member are current; a registration replayed later leaves the dissolution.
    await apply(database, [events[2], events[7], events[9]])
    got = await rows(database, {k: ids[k] for k in ("h2", "p3", "m1")})
    assert got["households"][0]["dissolved_on"] == date(2026, 6, 1)
    assert got["people"][0]["left_on"] is None
    assert got["members"][0]["left_on"] is None
    # Changes to records this roster has not seen change nothing and fail nothing.
    unknown = new_id()
    await apply(
        database,
        [
            HouseholdUpdated(household_id=unknown, unit_id=ids["unit"], address="无", head_name=None),
            HouseholdDissolved(household_id=unknown, unit_id=ids["unit"], dissolved_on=date(2026, 6, 1)),
            PersonLeft(person_id=unknown, household_id=None, unit_id=ids["unit"], left_on=date(2026, 6, 2), reason="moved_away"),
            MemberLeft(member_id=unknown, person_id=unknown, left_on=date(2026, 6, 3), reason="transferred"),
        ],
    )
    assert await rows(database, {"unknown": unknown}) == {name: [] for name in TABLES}
