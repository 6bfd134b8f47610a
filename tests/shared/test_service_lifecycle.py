"""A service without its broker: it starts, takes writes into the outbox, reports unready, and stops."""

from __future__ import annotations

import asyncio

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from grid_svc.db import MIGRATIONS, platform
from grid_svc.main import create_app
from grid_svc.settings import GridSettings
from harness import Databases, identity_headers
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
