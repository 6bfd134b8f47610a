"""The gateway app factory (`uvicorn --factory gateway.main:create_app`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import structlog
from fastapi import FastAPI

from gateway.accounts.service import ensure_bootstrap_admin
from gateway.accounts.views import router as auth_router
from gateway.proxy import Upstreams
from gateway.routes import router as forward_router
from gateway.settings import GatewaySettings
from shared.database import Database
from shared.observability import Metrics, RequestContextMiddleware, configure_logging, health_router
from shared.problems import PROBLEM_RESPONSES, install_problem_handlers

log = structlog.get_logger("gateway")


@dataclass
class GatewayRuntime:
    """What the lifespan built, reachable as `app.state.runtime`."""

    settings: GatewaySettings
    database: Database
    upstreams: Upstreams


def create_app(
    settings: GatewaySettings | None = None, *, transports: dict[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    """Build the gateway; `transports` lets tests route a domain to an in-process app."""
    settings = settings or GatewaySettings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    metrics = Metrics(settings.service_name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url)
        async with database.transaction() as session:
            await ensure_bootstrap_admin(
                session,
                username=settings.bootstrap_admin_username,
                password=settings.bootstrap_admin_password.get_secret_value(),
            )
        upstreams = Upstreams(settings, transports)
        app.state.runtime = GatewayRuntime(settings=settings, database=database, upstreams=upstreams)
        log.info("service.started", service=settings.service_name)
        try:
            yield
        finally:
            await upstreams.close()
            await database.dispose()

    app = FastAPI(
        title="Grassroots governance platform",
        description="The public API: grid registry, points, service orders, legal work, composed views.",
        version="0.1.0",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)

    async def database_ready() -> bool:
        await app.state.runtime.database.ping()
        return True

    def upstream_ready(domain: str):  # noqa: ANN202 - a check
        async def check() -> bool:
            response = await app.state.runtime.upstreams.client(domain).get("/readyz", timeout=3.0)
            return response.status_code == 200

        return check

    checks = {"database": database_ready, **{f"{d}-svc": upstream_ready(d) for d in settings.upstreams()}}
    app.include_router(health_router(metrics, checks))
    app.include_router(auth_router)
    app.include_router(forward_router)
    return app
