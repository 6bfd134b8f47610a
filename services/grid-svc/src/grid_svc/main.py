"""The grid-svc app factory (`uvicorn --factory grid_svc.main:create_app`)."""

from fastapi import FastAPI

from grid_svc.consumers import CONSUMERS
from grid_svc.db import platform
from grid_svc.settings import GridSettings
from grid_svc.units.views import router as units_router
from shared.service import build_service_app


def create_app(settings: GridSettings | None = None) -> FastAPI:
    """Build grid-svc; the lifespan starts its outbox relay."""
    return build_service_app(
        settings=settings or GridSettings(),
        title="grid-svc",
        description="The grid registry: the county → micro grid tree, households, people, party organisation.",
        tables=platform,
        routers=[units_router],
        consumers=CONSUMERS,
    )
