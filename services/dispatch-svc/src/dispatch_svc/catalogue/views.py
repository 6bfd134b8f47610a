"""HTTP endpoints for the service catalogue under `/api/v1/dispatch/service-types`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from dispatch_svc.catalogue import service
from dispatch_svc.catalogue.models import Category, ServiceTypeCreate, ServiceTypePublic, ServiceTypeUpdate
from dispatch_svc.clock import ClockDep
from dispatch_svc.db import platform
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/dispatch/service-types", tags=["service catalogue"])


def public(service_type) -> ServiceTypePublic:  # noqa: ANN001 - a ServiceType
    """The API shape of a stored service type."""
    return ServiceTypePublic.model_validate(service_type, from_attributes=True)


@router.post("", status_code=201, response_model=ServiceTypePublic, summary="Add a service type")
async def create_service_type(
    body: ServiceTypeCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep, clock: ClockDep
):
    """Add a service type (code, name, category, default deadlines, extra attributes orders must carry).

    A code already in the catalogue answers 409 `duplicate_code`.
    """

    async def create(session):
        return public(await service.create_service_type(session, identity=identity, data=body, now=clock.now()))

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("", response_model=Page[ServiceTypePublic], summary="List service types")
async def list_service_types(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    category: Category | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="name or code contains")] = None,
) -> Page[ServiceTypePublic]:
    """The catalogue, ordered by code."""
    async with db.session() as session:
        rows, total = await paginate(session, service.list_service_types_query(category=category, active=active, q=q), page)
    return Page(items=[public(r) for r in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/{service_type_id}", response_model=ServiceTypePublic, summary="Read a service type")
async def read_service_type(service_type_id: str, db: DatabaseDep, identity: CurrentIdentity) -> ServiceTypePublic:
    """One service type."""
    async with db.session() as session:
        return public(await service.get_service_type(session, service_type_id=service_type_id))


@router.patch("/{service_type_id}", response_model=ServiceTypePublic, summary="Change a service type")
async def update_service_type(
    service_type_id: str, body: ServiceTypeUpdate, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep
) -> ServiceTypePublic:
    """Change name, category, deadlines, attributes, or retire it with `active: false` (new orders refuse it)."""
    async with db.transaction() as session:
        return public(
            await service.update_service_type(session, identity=identity, service_type_id=service_type_id, data=body, now=clock.now())
        )
