"""The five apps for gateway tests: four services and the gateway in-process, the real broker."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from dispatch_svc.db import MIGRATIONS as DISPATCH_MIGRATIONS
from dispatch_svc.main import create_app as create_dispatch
from dispatch_svc.settings import DispatchSettings
from gateway.db import MIGRATIONS as GATEWAY_MIGRATIONS
from gateway.main import create_app as create_gateway
from gateway.settings import GatewaySettings
from grid_svc.db import MIGRATIONS as GRID_MIGRATIONS
from grid_svc.main import create_app as create_grid
from grid_svc.settings import GridSettings
from harness import Databases, RunningService, Stack
from legal_svc.db import MIGRATIONS as LEGAL_MIGRATIONS
from legal_svc.main import create_app as create_legal
from legal_svc.settings import LegalSettings
from points_svc.db import MIGRATIONS as POINTS_MIGRATIONS
from points_svc.main import create_app as create_points
from points_svc.settings import PointsSettings

DOMAINS = ("grid", "points", "dispatch", "legal")
ADMIN = {"username": "admin", "password": "admin12345"}


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to an in-process app and keeps the last one's headers (to check what services see)."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.seen: list[httpx.Headers] = []
        self.urls: list[httpx.URL] = []
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.headers)
        self.urls.append(request.url)
        self.bodies.append(await request.aread())
        del self.seen[:-20], self.urls[:-20], self.bodies[:-20]
        return await self.inner.handle_async_request(request)


async def start_services(backend: str, broker: Any, tmp_path_factory: Any) -> Stack:
    """The four domain services on a fresh database each."""
    stack = Stack(broker.bootstrap_servers, Databases(backend, tmp_path_factory.mktemp("dbs")))
    await stack.start("grid", create_grid, GridSettings, GRID_MIGRATIONS)
    await stack.start("points", create_points, PointsSettings, POINTS_MIGRATIONS)
    await stack.start("dispatch", create_dispatch, DispatchSettings, DISPATCH_MIGRATIONS)
    await stack.start("legal", create_legal, LegalSettings, LEGAL_MIGRATIONS)
    return stack


def recording_transports(stack: Stack) -> dict[str, RecordingTransport]:
    """A transport per domain into the stack's in-process service."""
    return {domain: RecordingTransport(stack.services[domain].app) for domain in DOMAINS}


async def start_gateway(
    stack: Stack, name: str, transports: dict[str, httpx.AsyncBaseTransport], **settings: Any
) -> RunningService:
    """A gateway over the stack's services (`transports` may leave a domain out to reach its URL)."""
    return await stack.start(name, create_gateway, GatewaySettings, GATEWAY_MIGRATIONS, app_kwargs={"transports": transports}, **settings)


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    """Bearer headers for a user."""
    response = await client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def create_unit(client: httpx.AsyncClient, headers: dict[str, str], level: str, parent: dict | None, name: str) -> dict:
    """A unit created through the gateway."""
    body = {"code": f"U{uuid.uuid4().hex[:8]}", "name": name, "level": level, "parent_id": parent["id"] if parent else None}
    response = await client.post("/api/v1/grid/units", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def create_user(
    client: httpx.AsyncClient, headers: dict[str, str], role: str, scope: dict | None, password: str = "pass-word-123"
) -> dict:
    """A user created through the gateway's user admin, with its login headers."""
    username = f"{role}.{uuid.uuid4().hex[:6]}"
    body = {"username": username, "role": role, "scope_unit_id": scope["id"] if scope else None, "password": password}
    response = await client.post("/api/v1/auth/users", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return {**response.json(), "headers": await login(client, username, password)}


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, for test modules (a conftest cannot be imported by name)."""
    return SimpleNamespace(
        ADMIN=ADMIN,
        DOMAINS=DOMAINS,
        start_services=start_services,
        recording_transports=recording_transports,
        start_gateway=start_gateway,
        login=login,
        create_unit=create_unit,
        create_user=create_user,
    )
