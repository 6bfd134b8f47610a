"""The points-svc app factory (`uvicorn --factory points_svc.main:create_app`)."""

from fastapi import FastAPI

import points_svc.models  # noqa: F401  registers every table before the routers use them
from points_svc.appraisals.views import router as appraisals_router
from points_svc.consumers import CONSUMERS
from points_svc.db import grid, platform
from points_svc.deeds.views import router as deeds_router
from points_svc.households.views import router as households_router
from points_svc.ledger.views import router as ledger_router
from points_svc.members.views import router as members_router
from points_svc.notices.views import router as notices_router
from points_svc.ratings.views import router as ratings_router
from points_svc.rules.views import router as rules_router
from points_svc.settings import PointsSettings
from shared.service import build_service_app


def create_app(settings: PointsSettings | None = None) -> FastAPI:
    """Build points-svc; the lifespan starts its relay and consumers."""
    return build_service_app(
        settings=settings or PointsSettings(),
        title="points-svc",
        description="The party-member points ledger, monthly public notices, star ratings and appraisals.",
        tables=platform,
        routers=[
            rules_router, ledger_router, members_router, notices_router, ratings_router, appraisals_router,
            households_router, deeds_router, grid.router("points"),
        ],
        consumers=CONSUMERS,
    )
