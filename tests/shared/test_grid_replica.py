"""The grid replica every consuming service keeps: creates under known and unknown parents, replays, moves.

Runs the handlers on real databases (SQLite and PostgreSQL) as the consumers do: several events
in one transaction, in any order across units, consecutive creates handed over together.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, delete, func, select

from harness import database_with, envelope_of
from shared.database import Database
from shared.events.grid import UnitCreated, UnitMoved, UnitRenamed, UnitRetired
from shared.grid_replica import GridReplica, grid_units_table
from shared.ids import new_id
from shared.inbox import apply_in_order

METADATA = MetaData()
REPLICA = GridReplica(grid_units_table(METADATA))
UNITS = REPLICA.table


@pytest.fixture(scope="module")
async def database(backend, tmp_path_factory):
    async with database_with(METADATA, backend, tmp_path_factory.mktemp("replica"), "grid_replica") as db:
        yield db


def created(
    unit_id: str,
    path: str,
    parent_id: str | None = None,
    *,
    name: str = "网格",
    level: str = "grid",
    full_code: str | None = None,
) -> UnitCreated:
    return UnitCreated(
        unit_id=unit_id, code=unit_id[-6:], full_code=full_code or f"F.{unit_id[-6:]}", name=name, level=level,
        parent_id=parent_id, path=path,
    )  # fmt: skip


async def apply(db: Database, *events) -> None:  # noqa: ANN002 - grid events
    """Apply events in one transaction, as a consumer applies one poll's batch (consecutive creates in one call)."""
    async with db.transaction() as session:
        await apply_in_order(session, [(event, envelope_of(event), REPLICA.handlers[type(event)]) for event in events], "test")


async def apply_one_by_one(db: Database, *events) -> None:  # noqa: ANN002 - grid events
    """Apply events in one transaction, each by its handler alone (a consumer's retry applies one event)."""
    async with db.transaction() as session:
        for event in events:
            await REPLICA.handlers[type(event)](session, event, envelope_of(event))


async def rows(db: Database, *ids: str) -> dict[str, dict]:
    async with db.session() as session:
        found = (await session.execute(select(UNITS).where(UNITS.c.id.in_(ids)))).mappings().all()
    return {row["id"]: dict(row) for row in found}


async def test_a_unit_under_a_known_parent_takes_the_parents_path_here_not_the_one_it_carries(database: Database):
    outer, town, village = new_id(), new_id(), new_id()
    # The town's own parent is unknown here, so its path is the one its event carried.
    await apply(
        database,
        created(town, f"/{outer}/{town}/", outer, level="town"),
        # Created in the same transaction as its parent, with a path that no longer holds where it came from.
        created(village, f"/elsewhere/{town}/{village}/", town, name="村", level="village"),
    )
    got = await rows(database, town, village)
    assert got[town]["path"] == f"/{outer}/{town}/"
    assert got[village]["path"] == f"/{outer}/{town}/{village}/"
    assert got[village] | {"updated_at": None, "retired_at": None} == {
        "id": village, "code": village[-6:], "full_code": f"F.{village[-6:]}", "name": "村", "level": "village",
        "parent_id": town, "path": f"/{outer}/{town}/{village}/", "retired_at": None, "updated_at": None,
    }  # fmt: skip
    assert got[village]["retired_at"] is None and got[village]["updated_at"] is not None


async def test_a_unit_whose_parent_is_not_known_yet_keeps_the_path_it_carries(database: Database):
    town, village = new_id(), new_id()
    await apply(database, created(village, f"/c/{town}/{village}/", town))
    assert (await rows(database, village))[village]["path"] == f"/c/{town}/{village}/"
    await apply(database, created(town, f"/c/{town}/", "c", level="town"))
    got = await rows(database, town, village)
    assert got[town]["path"] == f"/c/{town}/"
    assert got[village]["path"] == f"/c/{town}/{village}/" and got[village]["parent_id"] == town


async def test_a_replayed_create_leaves_one_row_with_the_events_values_and_keeps_the_retirement(database: Database):
    town, grid = new_id(), new_id()
    first = created(grid, f"/stale/{grid}/", town, name="一网格")
    await apply(database, created(town, f"/{town}/", level="town"), first)
    retired_at = datetime(2026, 3, 1, tzinfo=UTC)
    await apply(database, UnitRenamed(unit_id=grid, name="改名"), UnitRetired(unit_id=grid, retired_at=retired_at))
    before = (await rows(database, grid))[grid]
    assert before["name"] == "改名"

    await apply(database, first)
    await apply(database, first)

    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(UNITS).where(UNITS.c.id == grid)) == 1
    after = (await rows(database, grid))[grid]
    # The create's fields are written again (the path still from the parent's row); the retirement is not undone.
    assert after["name"] == "一网格" and after["path"] == f"/{town}/{grid}/" and after["parent_id"] == town
    assert after["retired_at"] is not None and after["retired_at"].replace(tzinfo=UTC) == retired_at
    assert after["updated_at"] >= before["updated_at"]


async def test_a_move_rewrites_the_whole_subtree_and_reparents_only_the_unit(database: Database):
    a, b, c, d = new_id(), new_id(), new_id(), new_id()
    await apply(
        database,
        created(a, f"/{a}/", level="town", full_code="A"),
        created(b, f"/{a}/{b}/", a, level="village", full_code="A.B"),
        created(c, f"/{a}/{b}/{c}/", b, full_code="A.B.C"),
        created(d, f"/{d}/", level="town", full_code="D"),
    )
    await apply(database, UnitMoved(unit_id=b, parent_id=d, old_path=f"/{a}/{b}/", path=f"/{d}/{b}/", full_code="D.B"))
    got = await rows(database, a, b, c, d)
    assert {u: (r["path"], r["full_code"], r["parent_id"]) for u, r in got.items()} == {
        a: (f"/{a}/", "A", None),
        b: (f"/{d}/{b}/", "D.B", d),
        c: (f"/{d}/{b}/{c}/", "D.B.C", b),
        d: (f"/{d}/", "D", None),
    }

    # A unit created after the move, carrying the path from before it, lands under the moved parent.
    e = new_id()
    await apply(database, created(e, f"/{a}/{b}/{e}/", b))
    assert (await rows(database, e))[e]["path"] == f"/{d}/{b}/{e}/"


async def test_a_move_of_a_unit_not_known_yet_changes_nothing(database: Database):
    a = new_id()
    await apply(database, created(a, f"/{a}/", level="town"))
    unknown = new_id()
    await apply(
        database, UnitMoved(unit_id=unknown, parent_id=a, old_path=f"/{unknown}/", path=f"/{a}/{unknown}/", full_code="X")
    )
    assert await rows(database, unknown) == {}
    assert (await rows(database, a))[a]["path"] == f"/{a}/"


async def test_creates_handed_over_together_have_the_effect_of_applying_them_one_by_one(database: Database):
    outer, town, village, grid, orphan = new_id(), new_id(), new_id(), new_id(), new_id()
    events = [
        created(town, f"/{outer}/{town}/", outer, level="town"),
        # Its parent is created earlier in the same run, with a path that no longer holds where it came from.
        created(village, f"/elsewhere/{town}/{village}/", town, name="村", level="village"),
        created(grid, f"/elsewhere/{town}/{village}/{grid}/", village),
        created(orphan, f"/c/{new_id()}/{orphan}/", new_id()),
        # A replay of a unit in the same run: one row, the last event's values.
        created(grid, f"/elsewhere/{town}/{village}/{grid}/", village, name="改名网格"),
    ]
    ids = (town, village, grid, orphan)

    async def applied(how) -> dict[str, dict]:  # noqa: ANN001 - one of the apply functions
        await how(database, *events)
        got = {unit: {**row, "updated_at": None} for unit, row in (await rows(database, *ids)).items()}
        async with database.transaction() as session:
            await session.execute(delete(UNITS).where(UNITS.c.id.in_(ids)))
        return got

    together, one_by_one = await applied(apply), await applied(apply_one_by_one)
    assert together == one_by_one
    assert together[grid]["path"] == f"/{outer}/{town}/{village}/{grid}/" and together[grid]["name"] == "改名网格"
    assert together[orphan]["path"] == events[3].path
