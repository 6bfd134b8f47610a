"""Event end-to-end latency: commit in one service → effect visible in a consumer, at a steady rate.

This is a latency probe at a fixed rate, not a throughput test, so a Python loop is fine here.
Each tick creates grid units through grid-svc's API: one unit per request (`batch=1`, the
ordinary create path), or `batch` units per `POST /api/v1/grid/units:batch` (one transaction,
one event per unit), which reaches event rates the one-by-one create path cannot on a shared
core. The effect is the unit appearing in dispatch-svc's grid replica, observed read-only in
dispatch-svc's database every 2 ms (one query for all pending ids), so polling does not load
the services' HTTP paths; the gaps between polls are reported, so a busy probe shows. A unit
is looked for once its answer has arrived (its id is not known before): one already there at
the first look may have appeared earlier, so its latency is an upper bound; they are counted.

The rate is held for a warm-up first (`warmup_s`), whose events are reported apart and left out of the
percentiles: right after the services' restart for the probe, their first statements are planned and
prepared on fresh connections and the first fetches find the consumers' buffers cold, which is not the
steady state the probe measures. Every event counts towards what was lost or failed, the warm-up's too.

Commit time is taken from inside the creating transaction, so latencies are never understated:
with `source_url` (grid-svc's database, read-only) it is the event's own time in the outbox
(stamped just before the commit, the time the event's envelope carries); without it, the
unit's `created_at` from the answer (stamped when the unit is built, a little earlier in the
same transaction). The arrival of the 201 answer, which comes after the commit, gives a lower
bound that is reported beside it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import asyncpg
import httpx

POLL_S = 0.002


@dataclass
class ProbeResult:
    """What the probe measured (milliseconds)."""

    scenario: str
    target_rate: float
    achieved_rate: float
    events: int
    seen: int
    lost: int
    failed: int
    create_p50_ms: float
    create_p99_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    # Where the commit time came from, and the same latencies counted from the 201 answer (a lower bound).
    commit_stamp: str = ""
    answer_p50_ms: float = 0.0
    answer_p99_ms: float = 0.0
    # Time between two polls of the replica (the observation's own resolution).
    poll_gap_p99_ms: float = 0.0
    seen_at_first_look: int = 0
    batch: int = 1
    # Seconds waited before starting for the consumer to finish what earlier load left it (its inbox stops growing).
    waited_for_quiet_s: float = 0.0
    # p99 of the events created in each second of the run, the warm-up's first: a backlog shows as a falling series.
    p99_by_second: list[float] = field(default_factory=list)
    # The warm-up at the same rate before the measured events: its length, events and p99 (not in p50/p99 above).
    warmup_s: float = 0.0
    warmup_events: int = 0
    warmup_p99_ms: float = 0.0

    def as_dict(self) -> dict:
        """Plain data for the JSON report."""
        return asdict(self)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def _wait_for_quiet(conn: asyncpg.Connection, *, calm_s: float = 1.0, limit_s: float = 180.0) -> float:
    """Wait until the consumer's inbox has not grown for `calm_s`; the seconds waited.

    Right after a load (the demo data, the bench's other scenarios) the consumers may still be
    working through a backlog; events measured then would time that backlog, not the pipeline.
    """
    started = changed = time.monotonic()
    last = None
    while time.monotonic() - started < limit_s:
        count = await conn.fetchval("SELECT count(*) FROM inbox")
        if count != last:
            last, changed = count, time.monotonic()
        elif time.monotonic() - changed >= calm_s:
            break
        await asyncio.sleep(0.1)
    return max(0.0, changed - started)


def split_warmup(tick_of: dict[str, int], warm_ticks: int) -> tuple[list[str], list[str]]:
    """The ids of the events the probe measures and of those it created while warming up (ticks before `warm_ticks`)."""
    measured = [event_id for event_id, tick in tick_of.items() if tick >= warm_ticks]
    warm = [event_id for event_id, tick in tick_of.items() if tick < warm_ticks]
    return measured, warm


def _by_second(starts: list[tuple[float, float]]) -> list[float]:
    """p99 latency of the events created in each second, from (commit time, latency) pairs."""
    if not starts:
        return []
    first = min(t for t, _ in starts)
    buckets: dict[int, list[float]] = {}
    for t, latency in starts:
        buckets.setdefault(int(t - first), []).append(latency)
    return [round(percentile(buckets.get(second, []), 99), 1) for second in range(max(buckets) + 1)]


class _Watcher:
    """Looks for units in the replica every POLL_S from a thread of its own.

    The probe's own loop can be busy (hundreds of creates waiting on a saturated service); a
    watcher on that loop would see units late and count its own delay as the pipeline's.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.seen: dict[str, float] = {}  # unit id → wall-clock time it was first seen
        self.first_look: set[str] = set()  # already there when first looked for
        self.gaps: list[float] = []  # ms between two looks
        self._pending: set[str] = set()
        self._looked: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="probe-watcher", daemon=True)

    def start(self) -> None:
        """Start looking."""
        self._thread.start()

    def watch(self, ids: Iterable[str]) -> None:
        """Look for these units from now on."""
        with self._lock:
            self._pending.update(ids)

    def outstanding(self) -> int:
        """Units looked for and not seen yet (0 once the watcher has failed: nothing more will be seen)."""
        with self._lock:
            return len(self._pending) if self._thread.is_alive() else 0

    def stop(self) -> None:
        """Stop looking and wait for the thread; raise what stopped it early, if anything did."""
        self._stop.set()
        self._thread.join()
        if self.error is not None:
            raise RuntimeError("the probe's watcher failed") from self.error

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported by stop()
            self.error = exc

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            last = time.time()
            while not self._stop.is_set():
                with self._lock:
                    looking = list(self._pending)
                if looking:
                    rows = await conn.fetch("SELECT id FROM grid_units WHERE id = ANY($1::varchar[])", looking)
                    now = time.time()
                    found = {row["id"] for row in rows}
                    with self._lock:
                        self._pending -= found
                        self.seen.update(dict.fromkeys(found, now))
                    self.first_look |= found - self._looked
                    self._looked.update(looking)
                    self.gaps.append((now - last) * 1000)
                    last = now
                else:
                    last = time.time()
                time.sleep(POLL_S)  # blocks only this thread's loop, which has nothing else to do
        finally:
            await conn.close()


def _epoch(stamp: str) -> float:
    moment = datetime.fromisoformat(stamp)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


async def _probe(
    grid_url: str,
    headers: dict[str, str],
    parent_id: str,
    replica_dsn: str,
    *,
    rate: float,
    seconds: float,
    settle_s: float,
    batch: int,
    source_dsn: str | None,
    warmup_s: float,
) -> ProbeResult:
    # Wall-clock seconds throughout: the commit stamps come from grid-svc's clock on the same machine.
    stamped: dict[str, float] = {}  # unit id → commit time from inside the transaction
    answered: dict[str, float] = {}  # unit id → arrival of the 201 answer
    tick_of: dict[str, int] = {}  # unit id → the tick that created it (ticks before `warm_ticks` warm up)
    create_ms: list[float] = []
    failed: list[int] = []
    watcher = _Watcher(replica_dsn)
    conn = await asyncpg.connect(replica_dsn)
    try:
        waited = await _wait_for_quiet(conn)
    finally:
        await conn.close()
    watcher.start()
    try:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=grid_url, headers=headers, timeout=30, limits=limits) as client:
            tag = f"{int(time.time()) % 100000:05d}"

            def unit(n: int) -> dict:
                return {"code": f"E{tag}x{n}", "name": "时延探针", "level": "grid", "parent_id": parent_id}

            async def create(tick: int) -> None:
                first = tick * batch
                sent = time.time()
                try:
                    if batch == 1:
                        response = await client.post("/api/v1/grid/units", json=unit(first))
                    else:
                        body = {"units": [unit(first + i) for i in range(batch)]}
                        response = await client.post("/api/v1/grid/units:batch", json=body)
                except httpx.HTTPError:
                    failed.extend(range(first, first + batch))
                    return
                done = time.time()
                if response.status_code != 201:
                    failed.extend(range(first, first + batch))
                    return
                created = response.json()
                items = created if isinstance(created, list) else [created]
                for item in items:
                    stamped[item["id"]] = _epoch(item["created_at"])
                    answered[item["id"]] = done
                    tick_of[item["id"]] = tick
                watcher.watch(item["id"] for item in items)
                create_ms.append((done - sent) * 1000)

            tasks = []
            start = time.monotonic()
            warm_ticks = round(rate * warmup_s / batch)
            ticks = warm_ticks + max(1, round(rate * seconds / batch))
            for tick in range(ticks):
                delay = start + tick * batch / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(create(tick)))
            await asyncio.gather(*tasks)
            sent_span = time.monotonic() - start
            deadline = time.monotonic() + settle_s
            while watcher.outstanding() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
    finally:
        watcher.stop()
    seen = watcher.seen
    commit_stamp = "unit created_at (inside the creating transaction)"
    if source_dsn is not None and answered:
        source = await asyncpg.connect(source_dsn)
        try:
            rows = await source.fetch(
                "SELECT key, created_at FROM outbox WHERE key = ANY($1::varchar[]) AND event_type LIKE '%.unit.created.%'",
                list(answered),
            )
        finally:
            await source.close()
        stamped.update({row["key"]: row["created_at"].timestamp() for row in rows})
        commit_stamp = "outbox event time (just before the commit)"
    measured, warm = split_warmup(tick_of, warm_ticks)
    latencies = [(seen[i] - stamped[i]) * 1000 for i in measured if i in seen]
    from_answer = [(seen[i] - answered[i]) * 1000 for i in measured if i in seen]
    label = "grid unit" if batch == 1 else f"grid units in batches of {batch}"
    return ProbeResult(
        scenario=f"event end-to-end at {rate:.0f}/s ({label} → dispatch replica)",
        target_rate=rate,
        achieved_rate=len(answered) / sent_span if sent_span else 0.0,
        events=len(measured),
        seen=len(latencies),
        lost=sum(1 for i in answered if i not in seen),
        failed=len(failed),
        create_p50_ms=percentile(create_ms, 50),
        create_p99_ms=percentile(create_ms, 99),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies) if latencies else 0.0,
        commit_stamp=commit_stamp,
        answer_p50_ms=percentile(from_answer, 50),
        answer_p99_ms=percentile(from_answer, 99),
        poll_gap_p99_ms=percentile(watcher.gaps, 99),
        seen_at_first_look=len(watcher.first_look),
        batch=batch,
        waited_for_quiet_s=round(waited, 1),
        p99_by_second=_by_second([(stamped[i], (seen[i] - stamped[i]) * 1000) for i in answered if i in seen]),
        warmup_s=warmup_s,
        warmup_events=len(warm),
        warmup_p99_ms=percentile([(seen[i] - stamped[i]) * 1000 for i in warm if i in seen], 99),
    )


def run_probe(
    grid_url: str,
    headers: dict[str, str],
    parent_id: str,
    replica_url: str,
    *,
    rate: float = 200,
    seconds: float = 10,
    settle_s: float = 30,
    batch: int = 1,
    source_url: str | None = None,
    warmup_s: float = 0.0,
) -> ProbeResult:
    """Create `rate` units per second for `warmup_s` then `seconds`, and measure commit → visible in dispatch-svc's
    replica for the events of the last `seconds`.

    `batch` > 1 creates that many units per request (one transaction); `source_url`, grid-svc's
    database, lets the commit time be the event's own time in the outbox.
    """

    def dsn(url: str) -> str:
        return url.replace("postgresql+asyncpg://", "postgresql://", 1)

    return asyncio.run(
        _probe(
            grid_url,
            headers,
            parent_id,
            dsn(replica_url),
            rate=rate,
            seconds=seconds,
            settle_s=settle_s,
            batch=max(1, batch),
            source_dsn=dsn(source_url) if source_url else None,
            warmup_s=warmup_s,
        )
    )
