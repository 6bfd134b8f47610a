"""The dispatch-svc app factory (`uvicorn --factory dispatch_svc.main:create_app`)."""

from fastapi import FastAPI

from dispatch_svc.catalogue.views import router as catalogue_router
from dispatch_svc.clock import Clock, SystemClock
from dispatch_svc.consumers import CONSUMERS
from dispatch_svc.db import grid, platform
from dispatch_svc.orders.views import router as orders_router
from dispatch_svc.providers.views import router as providers_router
from dispatch_svc.roster.views import router as roster_router
from dispatch_svc.settings import DispatchSettings
from shared.service import build_service_app


def create_app(settings: DispatchSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build dispatch-svc; the lifespan starts its relay and consumers. Tests pass a controllable `clock`."""
    app = build_service_app(
        settings=settings or DispatchSettings(),
        title="dispatch-svc",
        description="Service orders from residents and their dispatch, micro lectures, countryside activities, Open311.",
        tables=platform,
        routers=[catalogue_router, providers_router, orders_router, roster_router, grid.router("dispatch")],
        consumers=CONSUMERS,
    )
    app.state.clock = clock or SystemClock()
    return app
