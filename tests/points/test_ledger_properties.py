"""Property-based: over random sequences of records, reversals, caps and notices, every member's
balance equals the sum of their entries, each unit's tallies count its entries, the ledger agrees
with a simple model, and every chain holds.

Runs the service's use cases on a real database (SQLite and PostgreSQL); each example builds a
fresh branch, so examples share one migrated database.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import points_svc.models  # noqa: F401  registers every table
from harness import Databases
from points_svc.consumers import on_member_joined
from points_svc.db import MIGRATIONS, grid, platform
from points_svc.ledger import service as ledger
from points_svc.ledger.balances import entries_sum
from points_svc.ledger.models import Balance, Entry, EntryCreate, EntryTally
from points_svc.notices import service as notices
from points_svc.notices.models import NoticeLine, NoticeOpen
from points_svc.rules.models import RuleCreate
from points_svc.rules.service import create_rule
from shared.database import Database
from shared.events.grid import MemberJoined, UnitCreated
from shared.identity import Identity, Role
from shared.ids import new_id
from shared.local_time import next_period
from shared.migrations import upgrade_async
from shared.outbox import OutboxWriter
from shared.problems import Problem

ADMIN = Identity(subject="prop-admin", role=Role.PLATFORM_ADMIN)
MONTHS = ["2025-01", "2025-02", "2025-03"]

operation = st.one_of(
    st.tuples(st.just("record"), st.integers(0, 1), st.integers(0, 1), st.integers(0, 2)),
    st.tuples(st.just("reverse"), st.integers(0, 30)),
    st.tuples(st.just("open"), st.integers(0, 2)),
    st.tuples(st.just("close"), st.integers(0, 2)),
)


@pytest.fixture(scope="module")
async def database_url(backend, tmp_path_factory):
    databases = Databases(backend, tmp_path_factory.mktemp("props"))
    url = await databases.fresh("points_props")
    await upgrade_async(MIGRATIONS, url)
    yield url
    await databases.drop_all()


async def _branch(db: Database, points: int, cap: int) -> tuple[str, list[dict], list[str]]:
    county, town, village = new_id(), new_id(), new_id()
    async with db.transaction() as session:
        for unit_id, level, parent, path in (
            (county, "county", None, f"/{county}/"),
            (town, "town", county, f"/{county}/{town}/"),
            (village, "village", town, f"/{county}/{town}/{village}/"),
        ):
            await grid.on_unit_created(
                session, UnitCreated(unit_id=unit_id, code=unit_id[-8:], full_code=unit_id, name=level, level=level, parent_id=parent, path=path), None
            )
    members = []
    for name in ("甲", "乙"):
        event = MemberJoined(member_id=new_id(), person_id=new_id(), name=name, party_org_id=new_id(), org_kind="branch",
                             org_unit_id=village, org_unit_path=f"/{county}/{town}/{village}/", joined_on=date(2020, 1, 1))
        async with db.transaction() as session:
            await on_member_joined(session, event, None)
        members.append({"id": event.member_id})
    rules = []
    async with db.transaction() as session:
        for code, category, value, monthly_cap in (("CAP", "service", points, cap), ("DED", "deduction", -3, None)):
            rule = await create_rule(session, identity=ADMIN, data=RuleCreate(
                town_unit_id=town, code=code, name=code, category=category, points=value, monthly_cap=monthly_cap, active_from=date(2020, 1, 1)
            ))
            rules.append(rule.id)
    return village, members, rules


async def _scenario(url: str, points: int, cap: int, operations: list[tuple]) -> None:
    # With the outbox, as the service runs: events are rows written in the same transactions.
    db = Database(url, outbox=OutboxWriter(platform.outbox, source="/points-svc", max_bytes=512_000))
    try:
        village, members, rules = await _branch(db, points, cap)
        rule_points = {rules[0]: points, rules[1]: -3}
        rule_caps = {rules[0]: cap, rules[1]: None}
        state: dict[str, str] = {}  # month -> open | closed
        net: dict[tuple, int] = defaultdict(int)  # (member, rule, period) -> points
        recorded: list[dict] = []  # entries that may be reversed
        reversed_ids: set[str] = set()

        def target(month: str) -> str:
            while month in state:
                month = next_period(month)
            return month

        for op in operations:
            if op[0] == "record":
                member, rule, month = members[op[1]]["id"], rules[op[2]], MONTHS[op[3]]
                period = target(month)
                allowed = rule_caps[rule] is None or abs(net[(member, rule, period)] + rule_points[rule]) <= rule_caps[rule]
                try:
                    async with db.transaction() as session:
                        entry = await ledger.record_entry(session, identity=ADMIN, data=EntryCreate(
                            member_id=member, rule_id=rule, occurred_on=date.fromisoformat(f"{month}-15"), description="deed"))
                except Problem as exc:
                    assert not allowed and exc.code == "monthly_cap_exceeded", (op, exc.code)
                    continue
                assert allowed, op
                assert entry.period == period and entry.points == rule_points[rule]
                net[(member, rule, period)] += entry.points
                recorded.append({"id": entry.id, "member": member, "rule": rule, "points": entry.points, "period": entry.period})
            elif op[0] == "reverse":
                if not recorded:
                    continue
                original = recorded[op[1] % len(recorded)]
                try:
                    async with db.transaction() as session:
                        reversal = await ledger.reverse_entry(session, identity=ADMIN, entry_id=original["id"], reason="correction")
                except Problem as exc:
                    assert original["id"] in reversed_ids and exc.code == "already_reversed", (op, exc.code)
                    continue
                assert original["id"] not in reversed_ids
                reversed_ids.add(original["id"])
                period = target(original["period"])
                assert reversal.period == period and reversal.points == -original["points"]
                assert reversal.reverses_entry_id == original["id"]
                net[(original["member"], original["rule"], period)] -= original["points"]
            elif op[0] == "open":
                month = MONTHS[op[1]]
                try:
                    async with db.transaction() as session:
                        notice = await notices.open_notice(session, identity=ADMIN, data=NoticeOpen(
                            branch_unit_id=village, period=month, objection_working_days=0), default_working_days=0)
                except Problem as exc:
                    assert month in state and exc.code == "notice_exists"
                    continue
                assert month not in state
                state[month] = "open"
                assert notice.total_points == sum(v for (m, r, p), v in net.items() if p == month)
            else:
                month = MONTHS[op[1]]
                if state.get(month) != "open":
                    continue
                async with db.session() as session:
                    notice_id = (await session.execute(
                        select(notices.Notice.id).where(notices.Notice.branch_unit_id == village, notices.Notice.period == month)
                    )).scalar_one()
                async with db.transaction() as session:
                    closed = await notices.close_notice(session, identity=ADMIN, notice_id=notice_id)
                state[month] = "closed"
                async with db.session() as session:
                    finals = {line.member_id: line.final_points for line in (await session.execute(
                        select(NoticeLine).where(NoticeLine.notice_id == closed.id))).scalars()}
                for member in members:
                    expected = sum(v for (m, r, p), v in net.items() if m == member["id"] and p == month)
                    assert finals[member["id"]] == expected

        async with db.snapshot() as session:
            for member in members:
                by_period = dict((await session.execute(
                    select(Balance.period, Balance.points).where(Balance.member_id == member["id"]))).all())
                entry_periods = dict((await session.execute(
                    select(Entry.period, func.sum(Entry.points)).where(Entry.member_id == member["id"]).group_by(Entry.period))).all())
                assert by_period == {p: int(v) for p, v in entry_periods.items()}
                model = defaultdict(int)
                for (m, _r, p), v in net.items():
                    if m == member["id"]:
                        model[p] += v
                assert {p: v for p, v in by_period.items()} == {p: v for p, v in model.items() if p in by_period or v}
                assert sum(by_period.values()) == await entries_sum(session, member_id=member["id"])
            counted = {(path, period): n for path, period, n in (await session.execute(
                select(Entry.unit_path, Entry.period, func.count()).where(Entry.branch_unit_id == village).group_by(Entry.unit_path, Entry.period)
            )).all()}
            tallied = {(path, period): n for path, period, n in (await session.execute(
                select(EntryTally.unit_path, EntryTally.period, EntryTally.entries).where(EntryTally.unit_path.in_({p for p, _ in counted}))
            )).all()}
            assert tallied == counted
            report = await ledger.verify_branch(session, branch_unit_id=village)
            assert report.ok, report
    finally:
        await db.dispose()


async def test_balances_always_equal_the_sum_of_entries(database_url):
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
    @given(points=st.integers(1, 5), cap=st.integers(5, 12), operations=st.lists(operation, min_size=1, max_size=14))
    def run(points: int, cap: int, operations: list[tuple]) -> None:
        asyncio.run(_scenario(database_url, points, cap, operations))

    # Hypothesis drives a blocking function: give it a thread with its own event loop.
    await asyncio.to_thread(run)
