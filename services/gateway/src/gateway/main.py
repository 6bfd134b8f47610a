"""The gateway app factory (`uvicorn --factory gateway.main:create_app`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from gateway.accounts.service import ensure_bootstrap_admin
from gateway.accounts.views import router as auth_router
from gateway.apikeys.views import router as api_keys_router
from gateway.callers import CallerDirectory
from gateway.composed.views import router as composed_router
from gateway.notices.views import router as notices_router
from gateway.openapi import MergedOpenApi, openapi_router
from gateway.proxy import Upstreams
from gateway.routes import add_forward_routes
from gateway.routes import router as open311_router
from gateway.settings import GatewaySettings
from gateway.tracing import TraceContextMiddleware
from shared.database import Database
from shared.observability import NO_OPENTELEMETRY, Metrics, RequestContextMiddleware, configure_logging, health_router
from shared.problems import PROBLEM_RESPONSES, install_problem_handlers
from shared.routing import add_routers

log = structlog.get_logger("gateway")

TITLE = "Grassroots governance platform"
DESCRIPTION = """The public API of the platform: grid registry, party members' points, service orders,
legal work, and composed views across them.

**Authentication.** Users log in at `POST /api/v1/auth/token` (OAuth2 password flow, form-encoded)
and send `Authorization: Bearer <access_token>`. County systems send `X-API-Key: <key>` (Open311
clients may pass it as `api_key`). Everything a caller sees is limited to their scope unit's subtree:
a record outside it answers 404.

**Errors** are RFC 9457 `application/problem+json` with a stable `code`. **Rate limits** answer 429
with `Retry-After`. Every answer carries `X-Request-Id`; send a W3C `traceparent` to join a trace.

**Composed views** (`/api/v1/views/…`, `/api/v1/dashboards/…`) answer 200 even when a service is down,
with a `degraded` list naming the sections that are missing.
"""


@dataclass
class GatewayRuntime:
    """What the lifespan built, reachable as `app.state.runtime`."""

    settings: GatewaySettings
    database: Database
    upstreams: Upstreams
    callers: CallerDirectory
    openapi: MergedOpenApi


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
        app.state.runtime = GatewayRuntime(
            settings=settings,
            database=database,
            upstreams=upstreams,
            callers=CallerDirectory(settings, database),
            openapi=MergedOpenApi(app, upstreams, cache_s=settings.openapi_cache_s),
        )
        log.info("service.started", service=settings.service_name)
        try:
            yield
        finally:
            await upstreams.close()
            await database.dispose()

    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
        # The merged document and its Swagger UI are served by `openapi_router`.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_OPENTELEMETRY,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    install_problem_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "Idempotency-Key", "Accept-Language",
                           "X-Request-Id", "traceparent", "tracestate"],
            expose_headers=["X-Request-Id", "Retry-After", "Idempotent-Replayed", "Location"],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(TraceContextMiddleware)

    async def database_ready() -> bool:
        await app.state.runtime.database.ping()
        return True

    def upstream_ready(domain: str):  # noqa: ANN202 - a check
        async def check() -> bool:
            response = await app.state.runtime.upstreams.client(domain).get("/readyz", timeout=3.0)
            return response.status_code == 200

        return check

    checks = {"database": database_ready, **{f"{d}-svc": upstream_ready(d) for d in settings.upstreams()}}
    add_forward_routes(app)
    add_routers(
        app, [health_router(metrics, checks), openapi_router(TITLE), auth_router, api_keys_router, composed_router, notices_router, open311_router]
    )
    return app
