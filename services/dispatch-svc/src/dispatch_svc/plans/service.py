"""Demand and plan use cases: group the month's orders, assign batches or sessions, execute the plan."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.access import ORGANISERS, require_role
from dispatch_svc.catalogue.models import Category, RouteTo, ServiceType
from dispatch_svc.clock import month_of, month_range
from dispatch_svc.db import grid
from dispatch_svc.orders import service as orders
from dispatch_svc.orders.models import Order
from dispatch_svc.orders.routing import provider_candidates
from dispatch_svc.orders.states import Status
from dispatch_svc.plans.models import Demand, DemandGroup, ItemKind, Plan, PlanCreate, PlanItem, PlanItemCreate, PlanStatus
from dispatch_svc.providers.models import Provider
from dispatch_svc.providers.service import used_capacity
from shared.identity import Identity
from shared.ids import new_id
from shared.problems import conflict, not_found, unprocessable
from shared.scope import in_subtree, path_ids, path_in_scope, scope_condition

# Orders a plan may still dispatch (a submitted one is accepted on the way).
PLANNABLE = frozenset({Status.SUBMITTED, Status.ACCEPTED, Status.RETURNED})


async def demand(session: AsyncSession, *, identity: Identity, unit_id: str, month: str) -> Demand:
    """The month's orders under a unit grouped by service type and village, with those awaiting dispatch."""
    unit = await grid.get_in_scope(session, identity, unit_id)
    start, end = month_range(month)
    rows = (
        await session.execute(
            select(Order.id, Order.unit_path, Order.status, Order.service_type_id)
            .where(in_subtree(Order.unit_path, unit.path), Order.submitted_at >= start, Order.submitted_at < end)
            .order_by(Order.submitted_at, Order.id)
        )
    ).all()
    t = grid.table
    unit_ids = {part for row in rows for part in path_ids(row.unit_path)}
    villages = {
        r.id: r.name for r in (await session.execute(select(t.c.id, t.c.name).where(t.c.id.in_(unit_ids), t.c.level == "village"))).all()
    }
    types = {s.id: s for s in (await session.execute(select(ServiceType).where(ServiceType.id.in_({r.service_type_id for r in rows})))).scalars()}
    totals: Counter = Counter()
    awaiting: dict[tuple, list[str]] = defaultdict(list)
    for row in rows:
        village_id = next((part for part in path_ids(row.unit_path) if part in villages), None)
        key = (row.service_type_id, village_id)
        totals[key] += 1
        if row.status in PLANNABLE:
            awaiting[key].append(row.id)
    groups = [
        DemandGroup(
            service_type_id=type_id, service_type_code=types[type_id].code, service_type_name=types[type_id].name,
            village_id=village_id, village_name=villages.get(village_id) if village_id else None,
            orders=count, awaiting_dispatch=len(awaiting[(type_id, village_id)]), awaiting_order_ids=awaiting[(type_id, village_id)],
        )
        for (type_id, village_id), count in totals.items()
    ]
    groups.sort(key=lambda g: (-g.orders, g.service_type_code, g.village_name or ""))
    return Demand(unit_id=unit.id, month=month, orders=len(rows), awaiting_dispatch=sum(g.awaiting_dispatch for g in groups), groups=groups)


async def create_plan(session: AsyncSession, *, identity: Identity, data: PlanCreate, now: datetime) -> Plan:
    """Start a draft plan for a unit and month."""
    require_role(identity, ORGANISERS, "plan dispatches")
    unit = await grid.get_in_scope(session, identity, data.unit_id)
    plan = Plan(
        id=new_id(), unit_id=unit.id, unit_path=unit.path, month=data.month, title=data.title, status=PlanStatus.DRAFT,
        created_by=identity.subject, created_at=now,
    )
    session.add(plan)
    return plan


async def get_plan(session: AsyncSession, *, identity: Identity, plan_id: str) -> Plan:
    """A plan in the caller's scope, else 404."""
    plan = await session.get(Plan, plan_id)
    if plan is None or not path_in_scope(plan.unit_path, identity, await grid.scope_path(session, identity)):
        raise not_found("plan")
    return plan


async def items_of(session: AsyncSession, plan_id: str) -> list[PlanItem]:
    """A plan's items in order."""
    return list((await session.execute(select(PlanItem).where(PlanItem.plan_id == plan_id).order_by(PlanItem.position))).scalars())


def plans_query(*, identity: Identity, caller_path: str | None, under_path: str | None, month: str | None, status: PlanStatus | None) -> Select:
    """Plans in scope, newest month first."""
    statement = select(Plan).where(scope_condition(Plan.unit_path, identity, caller_path))
    if under_path:
        statement = statement.where(in_subtree(Plan.unit_path, under_path))
    if month:
        statement = statement.where(Plan.month == month)
    if status:
        statement = statement.where(Plan.status == status)
    return statement.order_by(Plan.month.desc(), Plan.created_at.desc(), Plan.id.desc())


def _draft(plan: Plan) -> None:
    if plan.status != PlanStatus.DRAFT:
        raise conflict(f"the plan is {plan.status.value}; only a draft changes", code="plan_not_draft")


async def add_item(session: AsyncSession, *, identity: Identity, plan_id: str, data: PlanItemCreate) -> PlanItem:
    """Assign orders of one service type under the plan's unit to a provider or a person."""
    require_role(identity, ORGANISERS, "plan dispatches")
    plan = await get_plan(session, identity=identity, plan_id=plan_id)
    _draft(plan)
    service_type = await session.get(ServiceType, data.service_type_id)
    if service_type is None:
        raise unprocessable("unknown service type", loc=["body", "service_type_id"])
    found = {o.id: o for o in (await session.execute(select(Order).where(Order.id.in_(data.order_ids)))).scalars()}
    for order_id in data.order_ids:
        order = found.get(order_id)
        if order is None or not order.unit_path.startswith(plan.unit_path):
            raise unprocessable(f"order {order_id} is not under the plan's unit", code="order_outside_plan", loc=["body", "order_ids"])
        if order.service_type_id != service_type.id:
            raise unprocessable(f"order {order.number} is a {order.service_type_code}, not a {service_type.code}", code="wrong_service_type", loc=["body", "order_ids"])
        if order.status not in PLANNABLE:
            raise conflict(f"order {order.number} is {order.status.value}; it cannot be planned", code="order_not_plannable")
    existing = await items_of(session, plan.id)
    taken = {o for item in existing for o in item.order_ids} & set(data.order_ids)
    if taken:
        raise conflict(f"already in this plan: {', '.join(sorted(taken))}", code="order_already_planned")
    if data.provider_id:
        provider = await session.get(Provider, data.provider_id)
        if provider is None:
            raise unprocessable("unknown provider", code="unknown_provider", loc=["body", "provider_id"])
        for order in found.values():
            await orders.check_provider(session, provider_id=provider.id, order=order, now=plan.created_at, slots=0)
    item = PlanItem(id=new_id(), plan_id=plan.id, position=len(existing), **data.model_dump())
    session.add(item)
    return item


async def remove_item(session: AsyncSession, *, identity: Identity, plan_id: str, item_id: str) -> None:
    """Drop an item from a draft plan."""
    require_role(identity, ORGANISERS, "plan dispatches")
    plan = await get_plan(session, identity=identity, plan_id=plan_id)
    _draft(plan)
    item = await session.get(PlanItem, item_id)
    if item is None or item.plan_id != plan.id:
        raise not_found("plan item")
    await session.delete(item)


async def cancel_plan(session: AsyncSession, *, identity: Identity, plan_id: str) -> Plan:
    """Abandon a draft plan (its orders stay as they are)."""
    require_role(identity, ORGANISERS, "plan dispatches")
    plan = await get_plan(session, identity=identity, plan_id=plan_id)
    _draft(plan)
    plan.status = PlanStatus.CANCELLED
    return plan


def slots_needed(items: list[PlanItem]) -> Counter:
    """Dispatches each provider's items use: one per order of a batch, one per group session."""
    needed: Counter = Counter()
    for item in items:
        if item.provider_id:
            needed[item.provider_id] += 1 if item.kind == ItemKind.SESSION else len(item.order_ids)
    return needed


async def execute_plan(session: AsyncSession, *, identity: Identity, plan_id: str, now: datetime) -> Plan:
    """Dispatch every order of the plan as assigned (accepting submitted ones first), all or nothing.

    Providers' capacity this month must cover their items: a batch uses one dispatch per order,
    a group session one in all.
    """
    require_role(identity, ORGANISERS, "execute plans")
    plan = await get_plan(session, identity=identity, plan_id=plan_id)
    _draft(plan)
    items = await items_of(session, plan.id)
    if not items:
        raise conflict("the plan has no items", code="plan_empty")
    needed = slots_needed(items)
    month = month_of(now)
    used = await used_capacity(session, provider_ids=list(needed), month=month)
    for provider_id, slots in needed.items():
        provider = await session.get(Provider, provider_id)
        if provider is None or used[provider_id] + slots > provider.capacity_per_month:
            left = max(provider.capacity_per_month - used[provider_id], 0) if provider else 0
            raise conflict(f"provider {provider.name if provider else provider_id} has {left} dispatches left in {month}; the plan needs {slots}", code="capacity_exhausted")
    for item in items:
        for order_id in item.order_ids:
            order = await orders.get_order(session, identity=identity, order_id=order_id)
            if order.status == Status.SUBMITTED:
                await orders.accept_order(session, identity=identity, order_id=order_id, now=now, note=f"plan {plan.title}")
            await orders.dispatch_order(
                session, identity=identity, order_id=order_id, now=now, provider_id=item.provider_id,
                assignee_person_id=item.assignee_person_id, note=item.note or f"plan {plan.title}", plan_id=plan.id,
                session_item_id=item.id if item.kind == ItemKind.SESSION else None, check_capacity=False,
            )
    plan.status, plan.executed_by, plan.executed_at = PlanStatus.EXECUTED, identity.subject, now
    return plan


# Categories served to a whole village at once (a training, a performance, a health day).
GROUP_CATEGORIES = frozenset({Category.EMERGENCY_TRAINING, Category.CULTURE, Category.HEALTH})


async def propose_items(session: AsyncSession, *, identity: Identity, plan_id: str) -> tuple[list[PlanItem], list[str]]:
    """Fill a draft plan from the month's demand: provider-routed orders still awaiting dispatch go,
    per service type and village, to the most local provider with capacity left — as one group
    session for trainings, culture and health, else as a batch of as many orders as capacity allows.

    Returns the items added and the ids of orders left for the organiser to assign.
    """
    require_role(identity, ORGANISERS, "plan dispatches")
    plan = await get_plan(session, identity=identity, plan_id=plan_id)
    _draft(plan)
    existing = await items_of(session, plan.id)
    planned = {o for item in existing for o in item.order_ids}
    start, end = month_range(plan.month)
    awaiting = [
        o for o in (
            await session.execute(
                select(Order).where(
                    in_subtree(Order.unit_path, plan.unit_path), Order.submitted_at >= start, Order.submitted_at < end,
                    Order.status.in_(PLANNABLE),
                ).order_by(Order.submitted_at, Order.id)
            )
        ).scalars()
        if o.id not in planned
    ]
    types = {s.id: s for s in (await session.execute(select(ServiceType).where(ServiceType.id.in_({o.service_type_id for o in awaiting})))).scalars()}
    t = grid.table
    unit_ids = {part for o in awaiting for part in path_ids(o.unit_path)}
    villages = {r.id: r.path for r in (await session.execute(select(t.c.id, t.c.path).where(t.c.id.in_(unit_ids), t.c.level == "village"))).all()}
    groups: dict[tuple[str, str], list[Order]] = defaultdict(list)
    for order in awaiting:
        if types[order.service_type_id].route_to != RouteTo.PROVIDER:
            continue
        village_path = next((villages[p] for p in order.unit_path.split("/") if p in villages), plan.unit_path)
        groups[(order.service_type_id, village_path)].append(order)
    taken = slots_needed(existing)  # what the plan already asks of each provider
    added: list[PlanItem] = []
    for (type_id, area_path), members in groups.items():
        service_type = types[type_id]
        candidates = await provider_candidates(session, unit_path=area_path, service_type_id=type_id, month=plan.month)
        provider = next((c for c in candidates if c.left - taken[c.provider_id] > 0), None)
        if provider is None:
            continue
        if service_type.category in GROUP_CATEGORIES:
            kind, chosen, title = ItemKind.SESSION, members, f"{service_type.name}（{len(members)} 单）"
            taken[provider.provider_id] += 1
        else:
            room = provider.left - taken[provider.provider_id]
            kind, chosen, title = ItemKind.BATCH, members[:room], None
            taken[provider.provider_id] += len(chosen)
        item = PlanItem(
            id=new_id(), plan_id=plan.id, position=len(existing) + len(added), kind=kind, service_type_id=type_id,
            provider_id=provider.provider_id, order_ids=[o.id for o in chosen], session_title=title, note="proposed from demand",
        )
        session.add(item)
        added.append(item)
    assigned = {o for item in added for o in item.order_ids}
    return added, [o.id for o in awaiting if o.id not in assigned]
