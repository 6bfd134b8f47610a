"""A service without its broker: it starts, takes writes into the outbox, reports unready, and stops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from grid_svc.db import MIGRATIONS, platform
from grid_svc.main import create_app
from grid_svc.settings import GridSettings
from harness import Databases, eventually, identity_headers
from shared.ids import first_id_at
from shared.migrations import upgrade_async
from shared.testing import free_port


async def test_a_missing_broker_never_blocks_writes_readiness_or_shutdown(backend, tmp_path):
    databases = Databases(backend, tmp_path)
    url = await databases.fresh("lonely")
    await upgrade_async(MIGRATIONS, url)
    settings = GridSettings(database_url=url, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", kafka_request_timeout_s=1.0)
    app = create_app(settings)
    manager = LifespanManager(app, startup_timeout=60, shutdown_timeout=60)
    await manager.__aenter__()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://grid") as client:
            created = await client.post("/api/v1/grid/units", json={"code": "C", "name": "夏县", "level": "county"}, headers=identity_headers())
            assert created.status_code == 201
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"] == {"database": True, "broker": False}
            assert (await client.get("/healthz")).status_code == 200
        async with app.state.runtime.database.session() as session:
            waiting = await session.scalar(select(func.count()).select_from(platform.outbox).where(platform.outbox.c.sent_at.is_(None)))
        assert waiting == 1  # the event waits in the outbox for the broker
    finally:
        # Shutdown must complete even though every Kafka client is stuck retrying (the guard is generous).
        await asyncio.wait_for(manager.__aexit__(None, None, None), timeout=90)
        await databases.drop_all()


async def test_a_running_service_prunes_sent_events_applied_ids_and_idempotency_keys_past_their_keep(backend, tmp_path):
    databases = Databases(backend, tmp_path)
    url = await databases.fresh("pruned")
    await upgrade_async(MIGRATIONS, url)
    settings = GridSettings(
        database_url=url, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", kafka_request_timeout_s=1.0,
        outbox_keep_hours=1, inbox_keep_days=1, idempotency_keep_hours=1, retention_every_s=0.05,
    )
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    old_id = first_id_at(two_days_ago)
    app = create_app(settings)
    manager = LifespanManager(app, startup_timeout=60, shutdown_timeout=60)
    await manager.__aenter__()
    try:
        database = app.state.runtime.database
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://grid") as client:
            county = {"code": "C", "name": "夏县", "level": "county"}
            headers = {**identity_headers(), "Idempotency-Key": "county-c"}
            created = await client.post("/api/v1/grid/units", json=county, headers=headers)
            assert created.status_code == 201
            replayed = await client.post("/api/v1/grid/units", json=county, headers=headers)
            assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (201, "true")
            async with database.transaction() as session:
                await session.execute(platform.outbox.insert().values(
                    event_id=old_id, topic="t", key="k", event_type="UnitCreated", payload="{}", created_at=two_days_ago,
                    sent_at=two_days_ago, attempts=1,
                ))
                await session.execute(platform.inbox.insert().values(
                    event_id=old_id, consumer="grid-svc.test", event_type="UnitCreated", processed_at=two_days_ago
                ))
                await session.execute(platform.idempotency.update().values(created_at=two_days_ago))

            async def pruned() -> bool:
                async with database.session() as session:
                    left = [await session.scalar(select(func.count()).select_from(t).where(t.c.event_id == old_id))
                            for t in (platform.outbox, platform.inbox)]
                    left.append(await session.scalar(select(func.count()).select_from(platform.idempotency)))
                return left == [0, 0, 0]

            await eventually(pruned)
            # The key forgotten, the same request is a new one: the county's code is taken by the first.
            retried = await client.post("/api/v1/grid/units", json=county, headers=headers)
            assert retried.status_code == 409 and retried.json()["code"] == "duplicate_code"
    finally:
        await asyncio.wait_for(manager.__aexit__(None, None, None), timeout=90)
        await databases.drop_all()
