"""The dispatch-svc app factory (`uvicorn --factory dispatch_svc.main:create_app`)."""

import asyncio
from datetime import timedelta

from fastapi import FastAPI

from dispatch_svc.activities.views import router as activities_router
from dispatch_svc.catalogue.views import router as catalogue_router
from dispatch_svc.clock import Clock, SystemClock
from dispatch_svc.consumers import CONSUMERS
from dispatch_svc.db import grid, platform
from dispatch_svc.figures.views import router as figures_router
from dispatch_svc.lectures.views import router as lectures_router
from dispatch_svc.open311.formats import Open311Error, error_response
from dispatch_svc.open311.views import router as open311_router
from dispatch_svc.orders import overdue
from dispatch_svc.orders.views import overdue_router
from dispatch_svc.orders.views import router as orders_router
from dispatch_svc.people.views import router as people_router
from dispatch_svc.plans.views import router as plans_router
from dispatch_svc.providers.views import router as providers_router
from dispatch_svc.roster.views import router as roster_router
from dispatch_svc.settings import DispatchSettings
from shared.service import Runtime, build_service_app


def create_app(settings: DispatchSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build dispatch-svc; the lifespan starts its relay, consumers and the overdue job. Tests pass a controllable `clock`."""
    settings = settings or DispatchSettings()
    clock = clock or SystemClock()

    async def start_overdue_job(app: FastAPI, runtime: Runtime) -> None:
        if settings.overdue_sweep_interval_s > 0:
            job = overdue.run_forever(
                runtime.database, clock, interval_s=settings.overdue_sweep_interval_s,
                town_after=timedelta(hours=settings.escalate_to_town_after_hours),
            )
            runtime.background.append(asyncio.create_task(job, name="overdue-sweep"))

    app = build_service_app(
        settings=settings,
        title="dispatch-svc",
        description="Service orders from residents and their dispatch, micro lectures, countryside activities, Open311.",
        tables=platform,
        routers=[
            catalogue_router,
            providers_router,
            orders_router,
            overdue_router,
            plans_router,
            lectures_router,
            activities_router,
            people_router,
            figures_router,
            open311_router,
            roster_router,
            grid.router("dispatch"),
        ],
        consumers=CONSUMERS,
        on_startup=start_overdue_job,
    )
    app.state.clock = clock

    @app.exception_handler(Open311Error)
    async def _open311_error(request, exc: Open311Error):  # noqa: ANN001, ANN202 - an exception handler
        return error_response(exc)

    return app
