"""Provider use cases: register, change, look up, and how much monthly capacity is left."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, distinct, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.access import ORGANISERS, require_role, scope_path
from dispatch_svc.catalogue.models import ServiceType
from dispatch_svc.clock import month_range
from dispatch_svc.db import grid
from dispatch_svc.orders.models import Order
from dispatch_svc.providers.models import Provider, ProviderCapacity, ProviderCreate, ProviderService, ProviderUpdate
from shared.identity import Identity
from shared.ids import new_id
from shared.problems import not_found, unprocessable
from shared.scope import in_subtree, path_in_scope


def visible_condition(identity: Identity, caller_path: str | None):  # noqa: ANN201 - a SQL condition
    """Providers a caller sees: those covering their area from above, and those inside it."""
    if identity.unrestricted:
        return literal(True)
    if caller_path is None:
        return literal(False)
    return or_(in_subtree(Provider.area_path, caller_path), literal(caller_path).startswith(Provider.area_path))


async def _area(session: AsyncSession, identity: Identity, unit_id: str) -> tuple[str, str]:
    unit = await grid.get_in_scope(session, identity, unit_id)
    if unit.retired_at is not None:
        raise unprocessable("the area unit is retired", loc=["body", "area_unit_id"])
    return unit.id, unit.path


async def _check_service_types(session: AsyncSession, ids: list[str]) -> list[str]:
    unique = list(dict.fromkeys(ids))
    found = set((await session.execute(select(ServiceType.id).where(ServiceType.id.in_(unique)))).scalars())
    missing = [i for i in unique if i not in found]
    if missing:
        raise unprocessable(f"unknown service types: {', '.join(missing)}", loc=["body", "service_type_ids"])
    return unique


async def service_type_ids_of(session: AsyncSession, provider_ids: list[str]) -> dict[str, list[str]]:
    """Provider id → the service type ids it offers."""
    rows = await session.execute(
        select(ProviderService.provider_id, ProviderService.service_type_id)
        .where(ProviderService.provider_id.in_(provider_ids))
        .order_by(ProviderService.service_type_id)
    )
    offered: dict[str, list[str]] = {i: [] for i in provider_ids}
    for provider_id, service_type_id in rows.all():
        offered[provider_id].append(service_type_id)
    return offered


async def create_provider(session: AsyncSession, *, identity: Identity, data: ProviderCreate, now: datetime) -> Provider:
    """Register a provider covering a unit's subtree, offering some service types."""
    require_role(identity, ORGANISERS, "register providers")
    area_unit_id, area_path = await _area(session, identity, data.area_unit_id)
    service_type_ids = await _check_service_types(session, data.service_type_ids)
    provider = Provider(
        id=new_id(),
        **data.model_dump(exclude={"service_type_ids", "area_unit_id"}),
        area_unit_id=area_unit_id,
        area_path=area_path,
        created_at=now,
        updated_at=now,
    )
    session.add(provider)
    await session.flush()
    session.add_all([ProviderService(provider_id=provider.id, service_type_id=s) for s in service_type_ids])
    return provider


async def get_provider(session: AsyncSession, *, identity: Identity, provider_id: str) -> Provider:
    """A provider the caller can see, else 404."""
    provider = await session.get(Provider, provider_id)
    if provider is None:
        raise not_found("provider")
    if not identity.unrestricted:
        caller_path = await scope_path(session, identity)
        if caller_path is None or not (provider.area_path.startswith(caller_path) or caller_path.startswith(provider.area_path)):
            raise not_found("provider")
    return provider


async def update_provider(
    session: AsyncSession, *, identity: Identity, provider_id: str, data: ProviderUpdate, now: datetime
) -> Provider:
    """Change a provider; only callers whose scope contains its whole area may."""
    require_role(identity, ORGANISERS, "change providers")
    provider = await get_provider(session, identity=identity, provider_id=provider_id)
    if not path_in_scope(provider.area_path, identity, await scope_path(session, identity)):
        raise unprocessable("this provider covers more than your scope; ask the level above", code="outside_scope")
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise unprocessable(f"{field} cannot be null", loc=["body", field])
    if "area_unit_id" in changes:
        provider.area_unit_id, provider.area_path = await _area(session, identity, changes.pop("area_unit_id"))
    if "service_type_ids" in changes:
        wanted = await _check_service_types(session, changes.pop("service_type_ids"))
        current = (await session.execute(select(ProviderService).where(ProviderService.provider_id == provider.id))).scalars().all()
        for link in current:
            if link.service_type_id not in wanted:
                await session.delete(link)
        have = {link.service_type_id for link in current}
        session.add_all([ProviderService(provider_id=provider.id, service_type_id=s) for s in wanted if s not in have])
    for field, value in changes.items():
        setattr(provider, field, value)
    provider.updated_at = now
    return provider


def list_providers_query(
    *,
    identity: Identity,
    caller_path: str | None,
    service_type_id: str | None,
    covers_path: str | None,
    active: bool | None,
    q: str | None,
) -> Select:
    """Providers the caller sees, filtered, ordered by name then id."""
    statement = select(Provider).where(visible_condition(identity, caller_path))
    if service_type_id is not None:
        statement = statement.where(
            Provider.id.in_(select(ProviderService.provider_id).where(ProviderService.service_type_id == service_type_id))
        )
    if covers_path is not None:
        statement = statement.where(literal(covers_path).startswith(Provider.area_path))
    if active is not None:
        statement = statement.where(Provider.active == active)
    if q:
        statement = statement.where(Provider.name.contains(q, autoescape=True))
    return statement.order_by(Provider.name, Provider.id)


async def used_capacity(session: AsyncSession, *, provider_ids: list[str], month: str) -> dict[str, int]:
    """Dispatches each provider got in a month; the orders of one group session count once."""
    start, end = month_range(month)
    rows = await session.execute(
        select(Order.provider_id, func.count(distinct(func.coalesce(Order.session_item_id, Order.id))))
        .where(Order.provider_id.in_(provider_ids), Order.dispatched_at >= start, Order.dispatched_at < end)
        .group_by(Order.provider_id)
    )
    used = {i: 0 for i in provider_ids}
    used.update({provider_id: int(count) for provider_id, count in rows.all()})
    return used


async def capacity(session: AsyncSession, *, identity: Identity, provider_id: str, month: str) -> ProviderCapacity:
    """A provider's capacity, use and what is left in a month."""
    provider = await get_provider(session, identity=identity, provider_id=provider_id)
    used = (await used_capacity(session, provider_ids=[provider.id], month=month))[provider.id]
    return ProviderCapacity(
        provider_id=provider.id, month=month, capacity=provider.capacity_per_month, used=used,
        left=max(provider.capacity_per_month - used, 0),
    )
