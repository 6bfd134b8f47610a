"""The dispatch-svc app factory (`uvicorn --factory dispatch_svc.main:create_app`)."""

from fastapi import FastAPI

from dispatch_svc.consumers import CONSUMERS
from dispatch_svc.db import grid, platform
from dispatch_svc.settings import DispatchSettings
from shared.service import build_service_app


def create_app(settings: DispatchSettings | None = None) -> FastAPI:
    """Build dispatch-svc; the lifespan starts its relay and consumers."""
    return build_service_app(
        settings=settings or DispatchSettings(),
        title="dispatch-svc",
        description="Service orders from residents and their dispatch, micro lectures, countryside activities, Open311.",
        tables=platform,
        routers=[grid.router("dispatch")],
        consumers=CONSUMERS,
    )
