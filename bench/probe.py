"""Event end-to-end latency: commit in one service → effect visible in a consumer, at a steady rate.

This is a latency probe at a low fixed rate, not a throughput test, so a Python loop is fine here.
Each tick creates a grid unit through grid-svc's API (the create commits the unit and its outbox
row together); the effect is the unit appearing in dispatch-svc's grid replica. The replica is
observed read-only in dispatch-svc's database every 2 ms (one query for all pending ids), so
polling does not load the services' HTTP paths.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass

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


async def _probe(
    grid_url: str, headers: dict[str, str], parent_id: str, replica_dsn: str, *, rate: float, seconds: float, settle_s: float
) -> ProbeResult:
    committed: dict[str, float] = {}
    create_ms: list[float] = []
    failed: list[int] = []
    seen: dict[str, float] = {}
    stop_polling = asyncio.Event()
    conn = await asyncpg.connect(replica_dsn)

    async def poll() -> None:
        while not stop_polling.is_set():
            pending = [i for i in committed if i not in seen]
            if pending:
                rows = await conn.fetch("SELECT id FROM grid_units WHERE id = ANY($1::varchar[])", pending)
                now = time.monotonic()
                for row in rows:
                    seen[row["id"]] = now
            await asyncio.sleep(POLL_S)

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=grid_url, headers=headers, timeout=30, limits=limits) as client:
        tag = f"{int(time.time()) % 100000:05d}"

        async def create(n: int) -> None:
            body = {"code": f"E{tag}x{n}", "name": "时延探针", "level": "grid", "parent_id": parent_id}
            sent = time.monotonic()
            try:
                response = await client.post("/api/v1/grid/units", json=body)
            except httpx.HTTPError:
                failed.append(n)
                return
            done = time.monotonic()
            if response.status_code != 201:
                failed.append(n)
            else:
                # The commit happened before the answer left: timing from the answer understates by the reply's trip only.
                committed[response.json()["id"]] = done
                create_ms.append((done - sent) * 1000)

        poller = asyncio.create_task(poll())
        tasks = []
        start = time.monotonic()
        total = int(rate * seconds)
        for n in range(total):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(create(n)))
        await asyncio.gather(*tasks)
        sent_span = time.monotonic() - start
        deadline = time.monotonic() + settle_s
        while len(seen) < len(committed) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop_polling.set()
        await poller
    await conn.close()
    latencies = [(seen[i] - committed[i]) * 1000 for i in committed if i in seen]
    return ProbeResult(
        scenario=f"event end-to-end at {rate:.0f}/s (grid unit → dispatch replica)",
        target_rate=rate,
        achieved_rate=len(committed) / sent_span if sent_span else 0.0,
        events=len(committed),
        seen=len(latencies),
        lost=len(committed) - len(latencies),
        failed=len(failed),
        create_p50_ms=percentile(create_ms, 50),
        create_p99_ms=percentile(create_ms, 99),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies) if latencies else 0.0,
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
) -> ProbeResult:
    """Create `rate` units per second for `seconds` and measure commit → visible in dispatch-svc's replica."""
    dsn = replica_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    return asyncio.run(_probe(grid_url, headers, parent_id, dsn, rate=rate, seconds=seconds, settle_s=settle_s))
