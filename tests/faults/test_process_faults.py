"""Nothing lost, nothing doubled: the platform as real processes under real faults, on PostgreSQL.

The scenarios run in file order on one stack and build on each other; the last one verifies the
points ledger after everything before it. Each prints its figures.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid

import httpx
from faults.processes import (
    ADMIN,
    Platform,
    World,
    lecture_body,
    lecture_entries,
    post,
    post_lectures,
    read_topic,
    republish,
)

from harness import eventually
from shared.events import DISPATCH_TOPIC, GRID_TOPIC

PAUSE_SECONDS = 30
UNITS_DURING_PAUSE = 500  # five batches of 100: one write and one UnitCreated per unit
LECTURES_DURING_PAUSE = 500  # one write and one LectureHeld each, two lecturers: two points entries each
CONSUMERS = ("points-svc", "dispatch-svc", "legal-svc")


def report(title: str, **figures: object) -> None:
    """One line of figures per scenario (shown with -s and in CI's captured output)."""
    print(f"\n[{title}] " + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in figures.items()))


async def replica_rows(platform: Platform, service: str, under_path: str) -> tuple[int, int]:
    """(rows in a service's grid copy strictly under `under_path`, distinct ids among them)."""
    row = (
        await platform.sql(
            service, "SELECT count(*) AS n, count(DISTINCT id) AS d FROM grid_units WHERE path LIKE $1 AND path <> $2",
            under_path + "%", under_path,
        )
    )[0]
    return row["n"], row["d"]


async def unsent(platform: Platform, service: str) -> int:
    """Outbox rows not yet marked sent."""
    return await platform.scalar(service, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")


async def test_1000_writes_while_the_broker_is_frozen_are_all_delivered_exactly_once(platform: Platform, world: World):
    grid, broker = platform.client("grid-svc"), platform.stack.broker
    assert broker is not None
    per_batch = 100
    started = time.monotonic()
    broker.pause()
    try:
        async def batch(b: int) -> list[dict]:
            items = [
                {"code": f"P{b:02d}{i:03d}", "name": f"停机网格{b}-{i}", "level": "grid", "parent_id": world.village["id"]}
                for i in range(per_batch)
            ]
            response = await grid.post("/api/v1/grid/units:batch", json={"units": items}, headers=ADMIN)
            assert response.status_code == 201, response.text
            return response.json()

        batches, lecture_ids = await asyncio.gather(
            asyncio.gather(*(batch(b) for b in range(UNITS_DURING_PAUSE // per_batch))),
            post_lectures(platform, world, LECTURES_DURING_PAUSE, prefix="frozen"),
        )
        writes_done = time.monotonic() - started
        unit_ids = [u["id"] for b in batches for u in b]
        waiting = {name: await unsent(platform, name) for name in ("grid-svc", "dispatch-svc")}
        # The writes fit in the pause: every event is still waiting in an outbox, none published yet.
        assert waiting["grid-svc"] >= UNITS_DURING_PAUSE and waiting["dispatch-svc"] >= LECTURES_DURING_PAUSE, waiting
        await asyncio.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - started)))  # the fault lasts its full length
    finally:
        broker.resume()
    paused_for = time.monotonic() - started
    assert len(set(unit_ids)) == UNITS_DURING_PAUSE and len(set(lecture_ids)) == LECTURES_DURING_PAUSE

    async def delivered() -> bool:
        for name in CONSUMERS:
            rows, _ = await replica_rows(platform, name, world.village["path"])
            if rows < UNITS_DURING_PAUSE:
                return False
        entries, _ = await lecture_entries(platform, lecture_ids)
        return entries >= 2 * LECTURES_DURING_PAUSE and await unsent(platform, "grid-svc") == 0 and await unsent(platform, "dispatch-svc") == 0

    await eventually(delivered, timeout=240, interval=0.5)
    drained = time.monotonic() - started - paused_for
    await asyncio.sleep(1)  # anything doubled would have landed by now; the counts below must not have moved
    figures: dict[str, object] = {}
    for name in CONSUMERS:
        rows, distinct = await replica_rows(platform, name, world.village["path"])
        assert (rows, distinct) == (UNITS_DURING_PAUSE, UNITS_DURING_PAUSE), (name, rows, distinct)
        listed = await platform.client(name).get(
            f"/api/v1/{name.removesuffix('-svc')}/units", params={"under": world.village["id"], "per_page": 1}, headers=ADMIN
        )
        assert listed.json()["total"] == UNITS_DURING_PAUSE
        figures[f"{name} grid copy rows"] = rows
    entries, doubled = await lecture_entries(platform, lecture_ids)
    deeds = await platform.scalar("points-svc", "SELECT count(*) FROM deeds WHERE source_ref = ANY($1::text[])", lecture_ids)
    assert entries == 2 * LECTURES_DURING_PAUSE and doubled == 0 and deeds == 2 * LECTURES_DURING_PAUSE
    grid_events = await platform.scalar("grid-svc", "SELECT count(*) FROM outbox WHERE key = ANY($1::text[])", unit_ids)
    lecture_events = await platform.scalar("dispatch-svc", "SELECT count(*) FROM outbox WHERE key = ANY($1::text[])", lecture_ids)
    assert (grid_events, lecture_events) == (UNITS_DURING_PAUSE, LECTURES_DURING_PAUSE)
    report(
        "broker frozen",
        writes=UNITS_DURING_PAUSE + LECTURES_DURING_PAUSE,
        units=UNITS_DURING_PAUSE,
        lectures=LECTURES_DURING_PAUSE,
        writes_took_s=f"{writes_done:.1f}",
        broker_frozen_s=f"{paused_for:.1f}",
        events_waiting_in_outboxes=sum(waiting.values()),
        **figures,
        points_entries=entries,
        deeds=deeds,
        duplicates=doubled,
        drained_after_resume_s=f"{drained:.1f}",
    )


async def test_the_broker_emptied_once_every_event_is_applied_loses_nothing_and_the_platform_goes_on(platform: Platform, world: World):
    grid = platform.client("grid-svc")
    village = await post(grid, "/api/v1/grid/units", {"code": "EMPTY", "name": "换代村", "level": "village", "parent_id": world.town["id"]})

    async def units(prefix: str) -> list[str]:
        items = [{"code": f"{prefix}{i:03d}", "name": f"网格{prefix}{i}", "level": "grid", "parent_id": village["id"]} for i in range(100)]
        response = await grid.post("/api/v1/grid/units:batch", json={"units": items}, headers=ADMIN)
        assert response.status_code == 201, response.text
        return [u["id"] for u in response.json()]

    # Written just before, not waited for: the broker may go only once every consumer has applied them.
    before, lectures_before = await asyncio.gather(units("B"), post_lectures(platform, world, 50, prefix="before-empty"))
    steps = await asyncio.to_thread(platform.stack.empty_broker, ["grid-svc", "points-svc", "dispatch-svc", "legal-svc"])
    for name in CONSUMERS:
        assert await replica_rows(platform, name, village["path"]) == (100, 100), name
    assert await lecture_entries(platform, lectures_before) == (100, 0)

    # On the empty broker the consumers start from the new topics' beginning: what comes next arrives, once.
    after, lectures_after = await asyncio.gather(units("A"), post_lectures(platform, world, 50, prefix="after-empty"))

    async def delivered() -> bool:
        copies = [await replica_rows(platform, name, village["path"]) for name in CONSUMERS]
        return all(rows >= 200 for rows, _ in copies) and (await lecture_entries(platform, lectures_after))[0] >= 100

    await eventually(delivered, timeout=120, interval=0.5)
    await asyncio.sleep(1)  # anything doubled would have landed by now
    for name in CONSUMERS:
        assert await replica_rows(platform, name, village["path"]) == (200, 200), name
    assert await lecture_entries(platform, lectures_after) == (100, 0)
    assert len(set(before) | set(after)) == 200
    report("broker emptied", **{f"{step}_s": f"{seconds:.1f}" for step, seconds in steps.items()}, units=200, lectures=100)


async def test_a_consumer_killed_in_the_middle_of_a_batch_loses_and_doubles_nothing(platform: Platform, world: World):
    # More events than a consumer applies in one transaction (up to a whole poll of 200): the kill lands after
    # some batches have committed and while the next is being applied.
    lectures = 500
    await asyncio.to_thread(platform.stack.stop_service, "points-svc")
    lecture_ids = await post_lectures(platform, world, lectures, prefix="killed")  # a backlog waits in dispatch.events
    await platform.restart("points-svc")

    async def midway() -> int:
        entries, _ = await lecture_entries(platform, lecture_ids)
        return entries if entries >= 40 else 0

    at_kill = await eventually(midway, timeout=120, interval=0.02)
    platform.stack.signal_service("points-svc", signal.SIGKILL)
    await platform.restart("points-svc")
    assert at_kill < 2 * lectures, "the consumer finished before it could be killed mid-way"

    async def all_credited() -> bool:
        entries, _ = await lecture_entries(platform, lecture_ids)
        return entries >= 2 * lectures

    await eventually(all_credited, timeout=180, interval=0.3)
    await asyncio.sleep(1)
    entries, doubled = await lecture_entries(platform, lecture_ids)
    deeds = await platform.scalar("points-svc", "SELECT count(*) FROM deeds WHERE source_ref = ANY($1::text[])", lecture_ids)
    absorbed = await platform.counter("points-svc", "events_consumed_total", consumer="points-svc.deeds", outcome="duplicate")
    assert (entries, doubled, deeds) == (2 * lectures, 0, 2 * lectures)
    report(
        "consumer SIGKILLed mid-batch",
        lectures=lectures,
        entries_when_killed=at_kill,
        points_entries_after_restart=entries,
        deeds=deeds,
        duplicates=doubled,
        redeliveries_absorbed_by_inbox=int(absorbed),
    )


HOLD_MARK_SENT = """
CREATE OR REPLACE FUNCTION fault_hold_mark_sent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(600); RETURN NEW; END $$;
CREATE TRIGGER fault_hold_mark_sent BEFORE UPDATE ON outbox FOR EACH ROW
WHEN (OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL) EXECUTE FUNCTION fault_hold_mark_sent();
"""
RELEASE_MARK_SENT = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid();
DROP TRIGGER fault_hold_mark_sent ON outbox;
DROP FUNCTION fault_hold_mark_sent();
"""


async def test_a_relay_killed_between_publishing_and_marking_sent_publishes_again_and_inboxes_absorb_it(platform: Platform, world: World):
    units = 20
    grid, dispatch = platform.client("grid-svc"), platform.client("dispatch-svc")
    # A village of its own keeps the counts apart; every consumer knows it before the fault.
    village = await post(grid, "/api/v1/grid/units", {"code": f"RV{uuid.uuid4().hex[:6]}", "name": "重发村", "level": "village",
                                                      "parent_id": world.town["id"]})
    await eventually(lambda: _known_to_consumers(platform, village["id"]), timeout=60)
    for name in ("grid-svc", "dispatch-svc"):
        await platform.execute(name, HOLD_MARK_SENT)  # the relay publishes, then hangs in "mark sent"
    consumers = [("points-svc", "points-svc.grid"), ("dispatch-svc", "dispatch-svc.grid"), ("legal-svc", "legal-svc.grid"),
                 ("points-svc", "points-svc.deeds")]
    before = {c: await platform.counter(s, "events_consumed_total", consumer=c, outcome="duplicate") for s, c in consumers}
    applied_before = {c: await platform.counter(s, "events_consumed_total", consumer=c, outcome="applied") for s, c in consumers}
    items = [{"code": f"R{i:03d}", "name": f"重发网格{i}", "level": "grid", "parent_id": village["id"]} for i in range(units)]
    response = await grid.post("/api/v1/grid/units:batch", json={"units": items}, headers=ADMIN)
    assert response.status_code == 201, response.text
    lecture = await post(dispatch, "/api/v1/dispatch/lectures", lecture_body(world, "重发 讲座"))

    async def published_and_applied() -> bool:
        for name in CONSUMERS:
            rows, _ = await replica_rows(platform, name, village["path"])
            if rows < units:
                return False
        entries, _ = await lecture_entries(platform, [lecture["id"]])
        return entries == 2

    await eventually(published_and_applied, timeout=120)
    held = {
        "grid-svc": await platform.scalar("grid-svc", "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND claimed_by IS NOT NULL"),
        "dispatch-svc": await platform.scalar("dispatch-svc", "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND claimed_by IS NOT NULL"),
    }
    # Published (consumers applied them) but not marked sent: the window the crash hits.
    assert held == {"grid-svc": units, "dispatch-svc": 1}, held
    for name in ("grid-svc", "dispatch-svc"):
        platform.stack.signal_service(name, signal.SIGKILL)
    for name in ("grid-svc", "dispatch-svc"):
        await asyncio.to_thread(platform.stack.services[name].process.wait)
        await platform.execute(name, RELEASE_MARK_SENT)
        await platform.restart(name)
    for consumer in ("dispatch-svc.grid",):  # counters of the restarted process start again from zero
        before[consumer] = applied_before[consumer] = 0.0
    started = time.monotonic()

    async def resent() -> bool:
        return await unsent(platform, "grid-svc") == 0 and await unsent(platform, "dispatch-svc") == 0

    await eventually(resent, timeout=120, interval=0.5)  # after the dead relay's claim expires (30 s)
    resent_after = time.monotonic() - started
    expected = {"points-svc.grid": units, "dispatch-svc.grid": units, "legal-svc.grid": units, "points-svc.deeds": 1}
    # The restarted dispatch-svc applied the first copies before the crash; since then it only absorbs.
    applied_since = {**expected, "dispatch-svc.grid": 0}

    async def absorbed() -> bool:
        for service, consumer in consumers:
            now = await platform.counter(service, "events_consumed_total", consumer=consumer, outcome="duplicate")
            if now - before[consumer] < expected[consumer]:
                return False
        return True

    await eventually(absorbed, timeout=60)
    grid_ids = {r["event_id"] for r in await platform.sql("grid-svc", "SELECT event_id FROM outbox WHERE key = ANY($1::text[])",
                                                          [u["id"] for u in response.json()])}
    lecture_event = await platform.scalar("dispatch-svc", "SELECT event_id FROM outbox WHERE key = $1", lecture["id"])
    on_grid_topic = [ce_id for _, ce_id, _ in await read_topic(platform.bootstrap, GRID_TOPIC, keep=grid_ids)]
    on_dispatch_topic = [ce_id for _, ce_id, _ in await read_topic(platform.bootstrap, DISPATCH_TOPIC, keep={lecture_event})]
    twice = [i for i in grid_ids if on_grid_topic.count(i) == 2]
    assert len(twice) == units and on_dispatch_topic.count(lecture_event) == 2
    for service, consumer in consumers:
        applied = await platform.counter(service, "events_consumed_total", consumer=consumer, outcome="applied")
        # Applied once (the first delivery), absorbed once (the second).
        assert applied - applied_before[consumer] == applied_since[consumer], (consumer, applied, applied_before[consumer])
    for name in CONSUMERS:
        assert await replica_rows(platform, name, village["path"]) == (units, units)
    entries, doubled = await lecture_entries(platform, [lecture["id"]])
    assert (entries, doubled) == (2, 0)
    report(
        "relay SIGKILLed between publish and mark-sent",
        events_published_twice=len(twice) + on_dispatch_topic.count(lecture_event) // 2,
        republished_after_s=f"{resent_after:.1f}",
        duplicates_absorbed={c: int(await platform.counter(s, "events_consumed_total", consumer=c, outcome="duplicate") - before[c])
                             for s, c in consumers},
        second_effects=0,
        grid_copy_rows_per_consumer=units,
        points_entries_for_the_lecture=entries,
    )


async def test_every_event_delivered_three_times_and_out_of_order_across_aggregates_has_one_effect(platform: Platform, world: World):
    def of_type(records: list, suffix: bytes) -> list:
        return [r for _, _, r in records if dict(r.headers).get("ce_type", b"").endswith(suffix)]

    # Types every counted consumer handles: UnitCreated (three grid copies) and LectureHeld (deeds).
    grid_records = of_type(await read_topic(platform.bootstrap, GRID_TOPIC), b".unit.created.v1")
    lecture_records = of_type(await read_topic(platform.bootstrap, DISPATCH_TOPIC), b".lecture.held.v1")
    rng = random.Random(9)
    chosen = rng.sample(grid_records, min(100, len(grid_records))) + rng.sample(lecture_records, min(50, len(lecture_records)))
    again = chosen * 2
    rng.shuffle(again)  # two more copies of each, interleaved across aggregates and topics
    county_path = world.county["path"]
    before = {name: await replica_rows(platform, name, county_path) for name in CONSUMERS}
    entries_before = await platform.scalar("points-svc", "SELECT count(*) FROM entries")
    counted = [("points-svc", "points-svc.grid"), ("dispatch-svc", "dispatch-svc.grid"), ("legal-svc", "legal-svc.grid"),
               ("points-svc", "points-svc.deeds")]
    seen_before = {c: await platform.counter(s, "events_consumed_total", consumer=c, outcome="duplicate") for s, c in counted}
    await republish(platform.bootstrap, again)
    lecture_copies = 2 * min(50, len(lecture_records))

    async def all_absorbed() -> bool:
        deeds = await platform.counter("points-svc", "events_consumed_total", consumer="points-svc.deeds", outcome="duplicate")
        return deeds - seen_before["points-svc.deeds"] >= lecture_copies and all(
            [await platform.counter(s, "events_consumed_total", consumer=c, outcome="duplicate") - seen_before[c] >= 200
             for s, c in counted[:3]]
        )

    await eventually(all_absorbed, timeout=120)
    truth = {
        (r["id"], r["path"], r["name"])
        for r in await platform.sql("grid-svc", "SELECT id, path, name FROM units WHERE path LIKE $1", county_path + "%")
    }
    for name in CONSUMERS:
        assert await replica_rows(platform, name, county_path) == before[name]
        copy = {(r["id"], r["path"], r["name"]) for r in await platform.sql(name, "SELECT id, path, name FROM grid_units WHERE path LIKE $1", county_path + "%")}
        assert copy == truth, f"{name}'s grid copy differs from grid-svc"
    assert await platform.scalar("points-svc", "SELECT count(*) FROM entries") == entries_before
    doubled = await platform.scalar(
        "points-svc", "SELECT count(*) FROM (SELECT 1 FROM entries WHERE source_event_id IS NOT NULL"
        " GROUP BY source_event_id, person_id HAVING count(*) > 1) d"
    )
    assert doubled == 0
    report(
        "three deliveries, shuffled across aggregates",
        events=len(chosen),
        extra_copies=len(again),
        absorbed={c: int(await platform.counter(s, "events_consumed_total", consumer=c, outcome="duplicate") - seen_before[c]) for s, c in counted},
        grid_units_in_every_copy=len(truth),
        new_points_entries=0,
        duplicates=doubled,
    )


POISON_ENTRY = """
CREATE OR REPLACE FUNCTION fault_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.description LIKE '%毒丸%' THEN RAISE EXCEPTION 'ledger refuses poison deed %', NEW.source_ref; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fault_refuse_poison BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION fault_refuse_poison();
"""
POISON_FIXED = "DROP TRIGGER fault_refuse_poison ON entries; DROP FUNCTION fault_refuse_poison();"


async def test_a_poison_event_goes_to_the_dlq_the_partition_moves_on_and_the_cli_replays_it_after_a_fix(platform: Platform, world: World):
    await platform.execute("points-svc", POISON_ENTRY)  # a bug in points-svc: this deed always fails
    dispatch = platform.client("dispatch-svc")
    poison = await post(dispatch, "/api/v1/dispatch/lectures", lecture_body(world, "毒丸 讲座"))
    healthy = await post_lectures(platform, world, 30, prefix="after-poison")
    poison_event = await platform.scalar("dispatch-svc", "SELECT event_id FROM outbox WHERE key = $1", poison["id"])

    async def healthy_credited() -> bool:
        entries, _ = await lecture_entries(platform, healthy)
        return entries == 2 * len(healthy)

    await eventually(healthy_credited, timeout=120)

    async def listed() -> str:
        out = platform.cli("points-svc", "dlq", "list", DISPATCH_TOPIC)
        assert out.returncode == 0, out.stderr
        return out.stdout if poison_event in out.stdout else ""

    listing = await eventually(listed, timeout=120, interval=1)
    # Usually one letter; a rebalance between dead-lettering and the offset commit can add a copy.
    # The error may run over several lines (the SQL and its parameters); letters are the tab-separated ones.
    letters = [fields for fields in (line.split("\t", 4) for line in listing.splitlines()) if len(fields) == 5 and fields[3] == poison_event]
    for position, consumer, event_type, _, error in letters:
        assert consumer == "points-svc.deeds" and event_type.endswith("lecture.held.v1") and "ledger refuses poison deed" in error
    position, _, _, _, error = letters[0]
    poison_partition = int(position.split(":")[0])
    records = await read_topic(platform.bootstrap, DISPATCH_TOPIC)
    healthy_events = {r["event_id"] for r in await platform.sql("dispatch-svc", "SELECT event_id FROM outbox WHERE key = ANY($1::text[])", healthy)}
    poison_offset = next(r.offset for p, i, r in records if i == poison_event)
    moved_on = [i for p, i, r in records if i in healthy_events and p == poison_partition and r.offset > poison_offset]
    assert moved_on, "no healthy event followed the poison on its partition"
    assert await lecture_entries(platform, [poison["id"]]) == (0, 0)

    await platform.execute("points-svc", POISON_FIXED)  # the fix is deployed
    replayed = platform.cli("points-svc", "dlq", "replay", DISPATCH_TOPIC, "--event-id", poison_event)
    assert replayed.returncode == 0 and f"replayed {len(letters)} message(s)" in replayed.stdout, replayed.stdout + replayed.stderr
    await eventually(lambda: _entries_are(platform, poison["id"], 2), timeout=60)
    duplicates = await platform.counter("points-svc", "events_consumed_total", consumer="points-svc.deeds", outcome="duplicate")
    again = platform.cli("points-svc", "dlq", "replay", DISPATCH_TOPIC, "--event-id", poison_event)
    assert again.returncode == 0
    await eventually(lambda: _counter_above(platform, "points-svc.deeds", duplicates), timeout=60)
    assert await lecture_entries(platform, [poison["id"]]) == (2, 0)
    report(
        "poison event",
        dead_lettered_by="points-svc.deeds",
        letters=len(letters),
        error=error.strip()[:60],
        healthy_events_after_it_on_its_partition=len(moved_on),
        healthy_lectures_credited=len(healthy),
        entries_after_fix_and_replay=2,
        entries_after_a_second_replay=2,
    )


async def _known_to_consumers(platform: Platform, unit_id: str) -> bool:
    for name in CONSUMERS:
        response = await platform.client(name).get(f"/api/v1/{name.removesuffix('-svc')}/units/{unit_id}", headers=ADMIN)
        if response.status_code != 200:
            return False
    return True


async def _entries_are(platform: Platform, lecture_id: str, count: int) -> bool:
    return (await lecture_entries(platform, [lecture_id]))[0] == count


async def _counter_above(platform: Platform, consumer: str, value: float) -> bool:
    return await platform.counter("points-svc", "events_consumed_total", consumer=consumer, outcome="duplicate") > value


async def _gateway_login(gateway: httpx.AsyncClient) -> dict[str, str]:
    response = await gateway.post("/api/v1/auth/token", data={"username": "admin", "password": "admin12345"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_service_down_or_frozen_behind_the_gateway_degrades_views_and_answers_503_without_hanging(platform: Platform, world: World):
    gateway = httpx.AsyncClient(base_url=platform.stack.services["gateway"].url, timeout=15)  # the bound on "nothing hangs"
    try:
        admin = await _gateway_login(gateway)
        figures: dict[str, object] = {}
        platform.stack.signal_service("legal-svc", signal.SIGKILL)
        await asyncio.to_thread(platform.stack.services["legal-svc"].process.wait)
        for fault, service, domain_path in (("killed", "legal-svc", "/api/v1/legal/cases"), ("frozen", "points-svc", "/api/v1/points/rules")):
            if fault == "frozen":
                platform.stack.signal_service("points-svc", signal.SIGSTOP)
            started = time.monotonic()
            direct = await gateway.get(domain_path, headers=admin)
            took = time.monotonic() - started
            assert direct.status_code == 503, direct.text
            assert direct.headers["content-type"].startswith("application/problem+json")
            assert direct.json()["code"] == "service_unavailable" and "retry-after" in direct.headers
            overview = await gateway.get(f"/api/v1/views/units/{world.village['id']}/overview", headers=admin)
            assert overview.status_code == 200, overview.text
            degraded = {d["service"] for d in overview.json()["degraded"]}
            assert service.removesuffix("-svc") in degraded or service in degraded, overview.json()["degraded"]
            figures[f"{service} {fault}: direct route"] = f"503 in {took:.1f}s"
            figures[f"{service} {fault}: overview degraded"] = sorted(degraded)
        dashboard = await gateway.get(f"/api/v1/dashboards/towns/{world.town['id']}", headers=admin)
        assert dashboard.status_code == 200 and dashboard.json()["degraded"], dashboard.text
        grid_still = await gateway.get(f"/api/v1/grid/units/{world.village['id']}", headers=admin)
        assert grid_still.status_code == 200
    finally:
        platform.stack.signal_service("points-svc", signal.SIGCONT)
        await platform.restart("legal-svc")
        await gateway.aclose()
    await asyncio.to_thread(platform.stack.wait_ready, "gateway", timeout=60)
    report("service down behind the gateway", **figures, healthy_routes="200")


async def test_a_database_that_refuses_connections_gives_503_and_leaves_nothing_half_written(platform: Platform, world: World):
    database = platform.urls["grid-svc"].rsplit("/", 1)[1]
    grid = platform.client("grid-svc")
    code = f"DB{uuid.uuid4().hex[:6]}"
    body = {"code": code, "name": "断库网格", "level": "grid", "parent_id": world.village["id"]}
    admin_dsn = platform.urls["grid-svc"].rsplit("/", 1)[0].replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    conn = await asyncpg_connect(admin_dsn)
    try:
        await conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
        answers = [await grid.post("/api/v1/grid/units", json=body, headers=ADMIN) for _ in range(3)]
        read = await grid.get(f"/api/v1/grid/units/{world.village['id']}", headers=ADMIN)
        ready = await grid.get("/readyz")
    finally:
        await conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await conn.close()
    statuses = [a.status_code for a in [*answers, read]]
    assert statuses == [503] * 4, [a.text for a in [*answers, read]]
    assert all(a.headers["content-type"].startswith("application/problem+json") and a.json()["code"] == "service_unavailable"
               for a in [*answers, read])
    assert ready.status_code == 503 and ready.json()["checks"]["database"] is False
    assert await platform.scalar("grid-svc", "SELECT count(*) FROM units WHERE code = $1", code) == 0
    outbox_before = await platform.scalar("grid-svc", "SELECT count(*) FROM outbox")

    async def back() -> bool:
        return (await grid.post("/api/v1/grid/units", json=body, headers=ADMIN)).status_code == 201

    await eventually(back, timeout=30)
    assert await platform.scalar("grid-svc", "SELECT count(*) FROM units WHERE code = $1", code) == 1
    assert await platform.scalar("grid-svc", "SELECT count(*) FROM outbox") == outbox_before + 1
    report("database refusing connections", requests=4, answers=f"{statuses}", half_written_rows=0, after_recovery="201, one unit, one event")


async def test_a_consumer_whose_database_refuses_connections_waits_and_dead_letters_nothing(platform: Platform, world: World):
    database = platform.urls["points-svc"].rsplit("/", 1)[1]
    admin_dsn = platform.urls["points-svc"].rsplit("/", 1)[0].replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    log_path = platform.stack.services["points-svc"].log_path
    waits_before = log_path.read_text(errors="replace").count("consumer.database_unavailable")
    dead_before = await platform.counter("points-svc", "events_consumed_total", consumer="points-svc.deeds", outcome="dead_lettered")
    conn = await asyncpg_connect(admin_dsn)
    try:
        await conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
        lecture_ids = await post_lectures(platform, world, 10, prefix="points-db-away")
        await asyncio.sleep(5)  # the outage lasts while the deeds arrive
    finally:
        await conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await conn.close()
    await eventually(lambda: _entries_are_all(platform, lecture_ids), timeout=90)
    waits = log_path.read_text(errors="replace").count("consumer.database_unavailable") - waits_before
    dead = await platform.counter("points-svc", "events_consumed_total", consumer="points-svc.deeds", outcome="dead_lettered") - dead_before
    entries, doubled = await lecture_entries(platform, lecture_ids)
    assert waits > 0, "the consumer never met the outage"
    assert (dead, entries, doubled) == (0, 2 * len(lecture_ids), 0)
    report("consumer database refusing connections for 5 s", lectures=len(lecture_ids), consumer_waits=waits, dead_lettered=0,
           points_entries_after=entries, duplicates=doubled)


async def _entries_are_all(platform: Platform, lecture_ids: list[str]) -> bool:
    return (await lecture_entries(platform, lecture_ids))[0] == 2 * len(lecture_ids)


async def asyncpg_connect(dsn: str):  # noqa: ANN201
    """A direct admin connection (the test's own, not the service's)."""
    import asyncpg

    return await asyncpg.connect(dsn)


async def test_after_every_fault_the_points_ledger_verifies_and_balances_equal_the_sum_of_entries(platform: Platform, world: World):
    verified = await platform.client("points-svc").get("/api/v1/points/ledger/verify", headers=ADMIN)
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
    cli = platform.cli("points-svc", "verify")
    assert cli.returncode == 0, cli.stdout + cli.stderr
    mismatched = await platform.scalar(
        "points-svc",
        "SELECT count(*) FROM (SELECT member_id, period, sum(points) AS p, count(*) AS n FROM entries GROUP BY member_id, period) e"
        " FULL JOIN balances b USING (member_id, period) WHERE b.points IS DISTINCT FROM e.p OR b.entries IS DISTINCT FROM e.n",
    )
    untallied = await platform.scalar(
        "points-svc",
        "SELECT count(*) FROM (SELECT unit_path, period, count(*) AS n FROM entries GROUP BY unit_path, period) e"
        " FULL JOIN entry_tallies t USING (unit_path, period) WHERE t.entries IS DISTINCT FROM e.n",
    )
    totals = (await platform.sql("points-svc", "SELECT count(*) AS n, coalesce(sum(points), 0) AS p FROM entries"))[0]
    doubled = await platform.scalar(
        "points-svc", "SELECT count(*) FROM (SELECT 1 FROM entries WHERE source_event_id IS NOT NULL"
        " GROUP BY source_event_id, person_id HAVING count(*) > 1) d"
    )
    assert mismatched == 0 and untallied == 0 and doubled == 0
    chains = verified.json()["branches"]
    report(
        "ledger after all faults",
        chains=len(chains),
        entries=totals["n"],
        points=totals["p"],
        balances_differing_from_entries=mismatched,
        tallies_differing_from_entries=untallied,
        doubled_deeds=doubled,
        cli_verify=cli.stdout.strip().splitlines()[-1] if cli.stdout.strip() else "exit 0",
    )
