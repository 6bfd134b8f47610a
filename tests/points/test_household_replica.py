"""points-svc's households kept from grid-svc's events, applied as its consumer applies them.

On real databases (SQLite and PostgreSQL): a poll's events in one transaction, consecutive
registrations and consecutive updates each handed over together, leave the rows of applying
each event alone.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from harness import database_with, envelope_of, executions_on
from points_svc.consumers import CONSUMERS
from points_svc.db import metadata
from points_svc.households.models import Household
from shared.database import Database
from shared.events.grid import HouseholdDissolved, HouseholdMoved, HouseholdRegistered, HouseholdUpdated
from shared.ids import new_id
from shared.inbox import apply_in_order

(GRID,) = [spec for spec in CONSUMERS if spec.name == "points-svc.grid"]
HOUSEHOLDS = Household.__table__


@pytest.fixture(scope="module")
async def database(backend, tmp_path_factory):
    async with database_with(metadata, backend, tmp_path_factory.mktemp("households"), "points_households") as db:
        yield db


def history(ids: list[str]) -> list:
    """Registrations and head changes as a bulk import sends them, a replay and an update of an unknown household."""
    a, b, c, unknown = ids
    path = "/town/village/micro-grid/"
    return [
        HouseholdRegistered(household_id=a, unit_id="m1", unit_path=path, address="禹王村1号"),
        HouseholdRegistered(household_id=b, unit_id="m1", unit_path=path, address="禹王村2号", head_name="王某"),
        HouseholdRegistered(household_id=c, unit_id="m1", unit_path=path, address="禹王村3号"),
        HouseholdRegistered(household_id=a, unit_id="m1", unit_path=path, address="禹王村1号之一"),
        HouseholdUpdated(household_id=a, unit_id="m1", address="禹王村1号之一", head_name="李某"),
        HouseholdUpdated(household_id=unknown, unit_id="m1", address="无", head_name="无"),
        HouseholdUpdated(household_id=b, unit_id="m1", address="禹王村2号", head_name="王某某"),
        HouseholdUpdated(household_id=a, unit_id="m1", address="禹王村1号之二", head_name="李某"),
        HouseholdMoved(household_id=c, from_unit_id="m1", unit_id="m2", unit_path="/town/village/other/", moved_on=date(2026, 3, 1)),
        HouseholdDissolved(household_id=b, unit_id="m1", dissolved_on=date(2026, 4, 1)),
        HouseholdRegistered(household_id=b, unit_id="m1", unit_path=path, address="禹王村2号", head_name="王某某"),
    ]


async def rows(db: Database, ids: list[str]) -> list[dict | None]:
    async with db.session() as session:
        found = {row["id"]: row for row in (await session.execute(select(HOUSEHOLDS).where(HOUSEHOLDS.c.id.in_(ids)))).mappings()}
    return [{k: v for k, v in found[i].items() if k not in ("id", "updated_at")} if i in found else None for i in ids]


async def test_runs_of_registrations_and_updates_leave_the_rows_of_applying_each_event_alone(database: Database):
    together, alone = [new_id() for _ in range(4)], [new_id() for _ in range(4)]
    with executions_on(database.engine, "households") as executions:
        async with database.transaction() as session:
            deliveries = [(event, envelope_of(event), GRID.handlers[type(event)]) for event in history(together)]
            await apply_in_order(session, deliveries, "test")
    # Four registrations, four updates, then one event at a time.
    assert executions == [("INSERT", 4), ("UPDATE", 4), ("UPDATE", 1), ("UPDATE", 1), ("INSERT", 1)]
    for event in history(alone):
        async with database.transaction() as session:
            await GRID.handlers[type(event)](session, event, envelope_of(event))
    got = await rows(database, together)
    assert got == await rows(database, alone)
    assert [(h["address"], h["head_name"], h["unit_path"], h["dissolved_on"]) for h in got[:3]] == [
        ("禹王村1号之二", "李某", "/town/village/micro-grid/", None),
        ("禹王村2号", "王某某", "/town/village/micro-grid/", date(2026, 4, 1)),
        ("禹王村3号", None, "/town/village/other/", None),
    ]
    assert got[3] is None
