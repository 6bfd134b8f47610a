"""The grid-svc app factory (`uvicorn --factory grid_svc.main:create_app`)."""

from fastapi import FastAPI

from grid_svc.assignments.views import router as assignments_router
from grid_svc.consumers import CONSUMERS
from grid_svc.db import platform
from grid_svc.households.views import router as households_router
from grid_svc.liaisons.views import router as liaisons_router
from grid_svc.locate.views import router as locate_router
from grid_svc.party.views import router as party_router
from grid_svc.people.views import router as people_router
from grid_svc.reports.views import router as reports_router
from grid_svc.rules.views import public_router as public_rules_router
from grid_svc.rules.views import router as rules_router
from grid_svc.settings import GridSettings
from grid_svc.transfer.views import router as transfer_router
from grid_svc.units.views import router as units_router
from shared.service import build_service_app


def create_app(settings: GridSettings | None = None) -> FastAPI:
    """Build grid-svc; the lifespan starts its outbox relay."""
    return build_service_app(
        settings=settings or GridSettings(),
        title="grid-svc",
        description="The grid registry: the county → micro grid tree, households, people, party organisation.",
        tables=platform,
        routers=[
            units_router,
            households_router,
            people_router,
            party_router,
            assignments_router,
            liaisons_router,
            reports_router,
            rules_router,
            public_rules_router,
            locate_router,
            transfer_router,
        ],
        consumers=CONSUMERS,
    )
