"""The points-svc app factory (`uvicorn --factory points_svc.main:create_app`)."""

from fastapi import FastAPI

from points_svc.consumers import CONSUMERS
from points_svc.db import grid, platform
from points_svc.settings import PointsSettings
from shared.service import build_service_app


def create_app(settings: PointsSettings | None = None) -> FastAPI:
    """Build points-svc; the lifespan starts its relay and consumers."""
    return build_service_app(
        settings=settings or PointsSettings(),
        title="points-svc",
        description="The party-member points ledger, monthly public notices, star ratings and appraisals.",
        tables=platform,
        routers=[grid.router("points")],
        consumers=CONSUMERS,
    )
