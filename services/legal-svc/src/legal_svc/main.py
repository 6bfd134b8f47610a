"""The legal-svc app factory (`uvicorn --factory legal_svc.main:create_app`)."""

from fastapi import FastAPI

import legal_svc.models  # noqa: F401  registers every table
from legal_svc.advisers.views import router as advisers_router
from legal_svc.cases.views import router as cases_router
from legal_svc.consumers import CONSUMERS
from legal_svc.db import grid, platform
from legal_svc.enforcement.views import router as enforcement_router
from legal_svc.exports.views import router as exports_router
from legal_svc.figures.views import router as figures_router
from legal_svc.patrols.views import router as patrols_router
from legal_svc.publicity.views import router as publicity_router
from legal_svc.settings import LegalSettings
from shared.service import build_service_app


def create_app(settings: LegalSettings | None = None) -> FastAPI:
    """Build legal-svc; the lifespan starts its relay and consumers."""
    return build_service_app(
        settings=settings or LegalSettings(),
        title="legal-svc",
        description="Legal advisers, consultations, mediation cases, enforcement, publicity and patrols.",
        tables=platform,
        routers=[
            grid.router("legal"),
            advisers_router,
            cases_router,
            enforcement_router,
            publicity_router,
            patrols_router,
            figures_router,
            exports_router,
        ],
        consumers=CONSUMERS,
    )
