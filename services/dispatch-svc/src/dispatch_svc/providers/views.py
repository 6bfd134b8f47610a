"""HTTP endpoints for providers under `/api/v1/dispatch/providers`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from dispatch_svc.access import scope_path
from dispatch_svc.clock import MONTH_PATTERN, ClockDep, month_of
from dispatch_svc.db import grid, platform
from dispatch_svc.privacy import phone_for
from dispatch_svc.providers import service
from dispatch_svc.providers.models import Provider, ProviderCapacity, ProviderCreate, ProviderPublic, ProviderUpdate
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity, Identity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/dispatch/providers", tags=["providers"])


def public(provider: Provider, service_type_ids: list[str], identity: Identity, *, in_list: bool) -> ProviderPublic:
    """The API shape of a provider, the contact phone masked as the caller must see it."""
    data = ProviderPublic.model_validate(
        {**provider.model_dump(), "service_type_ids": service_type_ids, "contact_phone": phone_for(identity, provider.contact_phone, in_list=in_list)}
    )
    return data


@router.post("", status_code=201, response_model=ProviderPublic, summary="Register a provider")
async def create_provider(body: ProviderCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep, clock: ClockDep):
    """Register an organisation or team (county Red Cross, drum association volunteers …) covering a unit's subtree."""

    async def create(session):
        provider = await service.create_provider(session, identity=identity, data=body, now=clock.now())
        return public(provider, list(dict.fromkeys(body.service_type_ids)), identity, in_list=False)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("", response_model=Page[ProviderPublic], summary="List providers")
async def list_providers(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    service_type_id: Annotated[str | None, Query(max_length=26, description="offering this service type")] = None,
    covers: Annotated[str | None, Query(max_length=26, description="whose area contains this unit")] = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="name contains")] = None,
) -> Page[ProviderPublic]:
    """Providers covering the caller's area from above or working inside it, ordered by name."""
    async with db.session() as session:
        covers_path = (await grid.get_in_scope(session, identity, covers)).path if covers else None
        statement = service.list_providers_query(
            identity=identity, caller_path=await scope_path(session, identity), service_type_id=service_type_id,
            covers_path=covers_path, active=active, q=q,
        )
        rows, total = await paginate(session, statement, page)
        offered = await service.service_type_ids_of(session, [p.id for p in rows])
    return Page(items=[public(p, offered[p.id], identity, in_list=True) for p in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/{provider_id}", response_model=ProviderPublic, summary="Read a provider")
async def read_provider(provider_id: str, db: DatabaseDep, identity: CurrentIdentity) -> ProviderPublic:
    """One provider; 404 when it neither covers nor lies in the caller's area."""
    async with db.session() as session:
        provider = await service.get_provider(session, identity=identity, provider_id=provider_id)
        offered = await service.service_type_ids_of(session, [provider.id])
    return public(provider, offered[provider.id], identity, in_list=False)


@router.patch("/{provider_id}", response_model=ProviderPublic, summary="Change a provider")
async def update_provider(provider_id: str, body: ProviderUpdate, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep) -> ProviderPublic:
    """Change services offered, area, contact or capacity, or retire it with `active: false`."""
    async with db.transaction() as session:
        provider = await service.update_provider(session, identity=identity, provider_id=provider_id, data=body, now=clock.now())
        await session.flush()
        offered = await service.service_type_ids_of(session, [provider.id])
    return public(provider, offered[provider.id], identity, in_list=False)


@router.get("/{provider_id}/capacity", response_model=ProviderCapacity, summary="A provider's capacity in a month")
async def provider_capacity(
    provider_id: str,
    db: DatabaseDep,
    identity: CurrentIdentity,
    clock: ClockDep,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM (Asia/Shanghai); this month by default")] = None,
) -> ProviderCapacity:
    """Capacity per month, dispatches used (a group session counts once) and what is left."""
    async with db.session() as session:
        return await service.capacity(session, identity=identity, provider_id=provider_id, month=month or month_of(clock.now()))
