"""The grid-svc stack every module of this folder runs against (one per module and backend)."""

from __future__ import annotations

import pytest
from grid.grid_events import EventLog
from grid.registry_builders import create_chain

from grid_svc.db import MIGRATIONS
from grid_svc.main import create_app
from grid_svc.settings import GridSettings
from harness import Databases, Stack


@pytest.fixture(scope="module")
async def grid(backend, broker, tmp_path_factory):
    """grid-svc on a fresh migrated database of the module's backend, with the real broker."""
    stack = Stack(broker.bootstrap_servers, Databases(backend, tmp_path_factory.mktemp("grid-dbs")))
    service = await stack.start("grid", create_app, GridSettings, MIGRATIONS)
    yield service
    await stack.close()


@pytest.fixture(scope="module")
async def events(grid, broker):
    """Every grid event the module's stack publishes, read from the broker."""
    log = EventLog(broker.bootstrap_servers)
    await log.start()
    yield log
    await log.stop()


@pytest.fixture(scope="module")
async def chain(grid):
    """A county → micro grid chain of units, made once per module."""
    return await create_chain(grid.client)
