"""Order use cases: place, look up, and move through the state machine (orders/states.py).

Every move is checked against the transition table, recorded with who and when, and emits its
event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import JSON, ColumnElement, Row, Select, bindparam, false, func, literal_column, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.access import HANDLERS, ORDERING, is_handler, require_role, scope_path
from dispatch_svc.catalogue.models import RouteTo, ServiceType
from dispatch_svc.catalogue.service import check_attributes, get_by_code
from dispatch_svc.clock import local_date, month_of, month_range, start_of_day
from dispatch_svc.db import grid, locks_rows
from dispatch_svc.orders.models import Channel, CompleteBody, Escalation, Order, OrderCreate, OrderTransition, TransitionPublic
from dispatch_svc.orders.routing import Routing, route
from dispatch_svc.orders.states import Action, IllegalTransition, Status, target_of
from dispatch_svc.providers.models import Provider, ProviderService
from dispatch_svc.providers.service import used_capacity
from dispatch_svc.roster.handlers import is_party_member
from dispatch_svc.roster.models import Household, Liaison, Person
from shared.database import Database
from shared.events.dispatch import OrderCompleted, OrderDispatched, OrderEvaluated, OrderReturned, OrderSubmitted
from shared.identity import Identity, require_write
from shared.ids import new_id
from shared.outbox import emit
from shared.pagination import PagedQuery
from shared.problems import Problem, conflict, not_found, unprocessable
from shared.scope import LIKE_ESCAPE, contains_pattern, in_named_subtree, path_in_scope


def deadlines(service_type: ServiceType, submitted_at: datetime) -> tuple[datetime, datetime]:
    """Response due `response_hours` after submission; completion due at the Asia/Shanghai midnight
    ending the day `completion_days` after the submission day (both in UTC)."""
    response_due = submitted_at + timedelta(hours=service_type.response_hours)
    completion_due = start_of_day(local_date(submitted_at) + timedelta(days=service_type.completion_days + 1))
    return response_due, completion_due


def _record(session: AsyncSession, order: Order, *, action: str, from_status: Status | None, identity: Identity, at: datetime, reason: str | None = None) -> None:
    session.add(
        OrderTransition(
            id=new_id(), order_id=order.id, action=action, from_status=from_status, to_status=order.status,
            actor=identity.subject, actor_name=identity.name, actor_role=identity.role.value, reason=reason or None, at=at,
        )
    )


async def _service_type(session: AsyncSession, data: OrderCreate) -> ServiceType:
    if data.service_type_id:
        service_type = await session.get(ServiceType, data.service_type_id)
    else:
        service_type = await get_by_code(session, code=data.service_type_code or "")
    if service_type is None:
        raise unprocessable("unknown service type", code="unknown_service_type", loc=["body", "service_type_id"])
    if not service_type.active:
        raise unprocessable(f"service type {service_type.code} is no longer offered", code="service_type_inactive", loc=["body", "service_type_id"])
    return service_type


async def _place(session: AsyncSession, identity: Identity, data: OrderCreate) -> tuple[str, str, Household | None]:
    household = None
    if data.household_id:
        household = await session.get(Household, data.household_id)
        if household is None:
            raise unprocessable("unknown household", code="unknown_household", loc=["body", "household_id"])
        if household.dissolved_on is not None:
            raise unprocessable("the household was dissolved", code="household_dissolved", loc=["body", "household_id"])
    unit_id = data.unit_id or household.unit_id  # type: ignore[union-attr]  # the model validator demands one
    unit = await grid.get_in_scope(session, identity, unit_id)
    if unit.retired_at is not None:
        raise unprocessable("the unit is retired", loc=["body", "unit_id"])
    if household is not None:
        household_unit = await grid.get(session, household.unit_id)
        household_path = household_unit.path if household_unit else household.unit_path
        if not household_path.startswith(unit.path):
            raise unprocessable("the household does not belong to this unit", code="household_outside_unit", loc=["body", "household_id"])
    return unit.id, unit.path, household


async def create_order(
    session: AsyncSession, *, identity: Identity, data: OrderCreate, now: datetime, open311_token: str | None = None
) -> Order:
    """Place an order, propose whom it goes to, start its clocks; emit OrderSubmitted."""
    require_role(identity, ORDERING, "place orders")
    service_type = await _service_type(session, data)
    unit_id, unit_path, household = await _place(session, identity, data)
    attributes = check_attributes(service_type, data.attributes)
    response_due, completion_due = deadlines(service_type, now)
    routing = await route(session, service_type=service_type, unit_path=unit_path, household_id=data.household_id, day=local_date(now), month=month_of(now))
    order_id = new_id()
    requester_person_id = data.requester_person_id
    if not is_handler(identity):
        requester_person_id = identity.person_id  # residents order for themselves
    order = Order(
        id=order_id,
        number=f"{local_date(now):%Y%m%d}-{order_id[-6:]}",
        service_type_id=service_type.id,
        service_type_code=service_type.code,
        unit_id=unit_id,
        unit_path=unit_path,
        household_id=data.household_id,
        requester_kind=data.requester_kind,
        requester_name=data.requester_name,
        requester_person_id=requester_person_id,
        contact_phone=data.contact_phone,
        channel=data.channel,
        entered_by=identity.subject,
        description=data.description,
        address=data.address or (household.address if household else ""),
        lat=data.lat,
        lng=data.lng,
        wished_on=data.wished_on,
        attributes=attributes,
        media_url=data.media_url,
        status=Status.SUBMITTED,
        proposed_person_id=routing.liaison.person_id if routing.liaison else None,
        proposed_person_name=routing.liaison.name if routing.liaison else None,
        proposed_provider_id=routing.provider.provider_id if routing.provider else None,
        submitted_at=now,
        response_due_at=response_due,
        completion_due_at=completion_due,
        escalation=Escalation.NONE,
        open311_token=open311_token,
        updated_at=now,
    )
    session.add(order)
    await session.flush()
    _record(session, order, action="submit", from_status=None, identity=identity, at=now)
    emit(
        session,
        OrderSubmitted(
            order_id=order.id, number=order.number, service_type_code=order.service_type_code, unit_id=order.unit_id,
            unit_path=order.unit_path, household_id=order.household_id, channel=order.channel.value, submitted_at=now,
        ),
    )
    return order


def _is_own(order: Order | Row, identity: Identity) -> bool:
    return order.entered_by == identity.subject or (
        identity.person_id is not None and identity.person_id in (order.requester_person_id, order.assignee_person_id)
    )


_STEPS = OrderTransition.__table__
# The history's columns as the API shows them.
STEP_FIELDS = tuple(TransitionPublic.model_fields)
# SQLite: a row per step, each labelled `step_<name>` beside the order's own columns (it has no ordered aggregate
# before 3.44).
ORDER_WITH_STEPS = (
    select(Order.__table__, grid.scope_path_column(), *(_STEPS.c[name].label(f"step_{name}") for name in STEP_FIELDS))
    .outerjoin(_STEPS, _STEPS.c.order_id == Order.id)
    .where(Order.id == bindparam("order_id"))
    .order_by(_STEPS.c.at, _STEPS.c.id)
)
# PostgreSQL: one row, the history a JSON array beside the order's columns (six rows repeating the order's 60
# columns cost a quarter more CPU per read), each instant written in UTC as the API writes it.
_STEP_JSON = func.json_build_object(
    *(
        part
        for name in STEP_FIELDS
        for part in (
            literal_column(f"'{name}'"),
            func.to_char(func.timezone("UTC", _STEPS.c.at), literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'""")) if name == "at" else _STEPS.c[name],
        )
    )
)
_HISTORY = (
    select(func.coalesce(func.json_agg(aggregate_order_by(_STEP_JSON, _STEPS.c.at, _STEPS.c.id)), literal_column("'[]'::json")))
    .where(_STEPS.c.order_id == Order.id)
    .scalar_subquery()
)
ORDER_WITH_HISTORY = select(Order.__table__, grid.scope_path_column(), type_coerce(_HISTORY, JSON).label("history")).where(
    Order.id == bindparam("order_id")
)


async def read_order(db: Database, *, identity: Identity, order_id: str) -> tuple[Row, list[dict]]:
    """An order the caller may see (as `get_order`) and its history, oldest first, in one round trip."""
    params = {"order_id": order_id, "scope_unit_id": identity.scope_unit_id}
    if db.is_sqlite:
        rows = await db.fetch_all(ORDER_WITH_STEPS, params)
        order = rows[0] if rows else None
        # No step at all leaves one row of NULLs from the outer join (every recorded order has its submit step).
        history = [dict(zip(STEP_FIELDS, row[-len(STEP_FIELDS) :])) for row in rows if row.step_action is not None]
    else:
        order = await db.fetch_one(ORDER_WITH_HISTORY, params)
        history = order.history if order is not None else []
    if order is None or not (path_in_scope(order.unit_path, identity, order.scope_path) if is_handler(identity) else _is_own(order, identity)):
        raise not_found("order")
    return order, history


async def get_order(session: AsyncSession, *, identity: Identity, order_id: str, for_update: bool = False) -> Order:
    """An order the caller may see (in scope for staff; their own for residents), else 404."""
    statement = select(Order).where(Order.id == order_id)
    if for_update and locks_rows(session):
        statement = statement.with_for_update()
    order = await session.scalar(statement)
    if order is None:
        raise not_found("order")
    if is_handler(identity):
        if not path_in_scope(order.unit_path, identity, await scope_path(session, identity)):
            raise not_found("order")
    elif not _is_own(order, identity):
        raise not_found("order")
    return order


# The order list's filters, each bound by this name; those holding a list bind it expanded.
_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "under_path": lambda: in_named_subtree(Order.unit_path, "under_path"),
    "statuses": lambda: Order.status.in_(bindparam("statuses", expanding=True)),
    "service_type_ids": lambda: Order.service_type_id.in_(bindparam("service_type_ids", expanding=True)),
    "provider_id": lambda: Order.provider_id == bindparam("provider_id"),
    "assignee_person_id": lambda: Order.assignee_person_id == bindparam("assignee_person_id"),
    "household_id": lambda: Order.household_id == bindparam("household_id"),
    "channel": lambda: Order.channel == bindparam("channel"),
    "escalation": lambda: Order.escalation == bindparam("escalation"),
    "submitted_from": lambda: Order.submitted_at >= bindparam("submitted_from"),
    "submitted_to": lambda: Order.submitted_at < bindparam("submitted_to"),
    "order_ids": lambda: Order.id.in_(bindparam("order_ids", expanding=True)),
    "plan_id": lambda: Order.plan_id == bindparam("plan_id"),
    "q": lambda: Order.number.like(bindparam("q"), escape=LIKE_ESCAPE) | Order.description.like(bindparam("q"), escape=LIKE_ESCAPE),
}
OrderScope = Literal["everywhere", "nowhere", "subtree", "own", "own_person"]


@cache
def orders_statement(scope: OrderScope, filters: frozenset[str], overdue: bool | None) -> Select:
    """The order list of one shape, built once (so its compiled form is found again): newest first, ties by id.
    `scope`: "subtree" binds `scope_path`; "own" binds `subject`, "own_person" also `person_id`. Each name in
    `filters` binds its own value (see `list_orders_query`)."""
    statement = select(Order)
    if scope == "nowhere":
        statement = statement.where(false())
    elif scope == "subtree":
        statement = statement.where(in_named_subtree(Order.unit_path, "scope_path"))
    elif scope in ("own", "own_person"):
        own = [Order.entered_by == bindparam("subject")]
        if scope == "own_person":
            own += [Order.requester_person_id == bindparam("person_id"), Order.assignee_person_id == bindparam("person_id")]
        statement = statement.where(or_(*own))
    for name in _FILTERS:  # in a fixed order, whatever the order of `filters`
        if name in filters:
            statement = statement.where(_FILTERS[name]())
    if overdue is not None:
        flagged = Order.response_overdue.is_(True) | Order.completion_overdue.is_(True)
        statement = statement.where(flagged if overdue else ~flagged)
    return statement.order_by(Order.submitted_at.desc(), Order.id.desc())


@cache
def orders_page(scope: OrderScope, filters: frozenset[str], overdue: bool | None) -> PagedQuery:
    """`orders_statement` of this shape, paged."""
    return PagedQuery.of(orders_statement(scope, filters, overdue))


def list_orders_query(
    *,
    identity: Identity,
    caller_path: str | None,
    under_path: str | None = None,
    statuses: list[Status] | None = None,
    service_type_ids: list[str] | None = None,
    provider_id: str | None = None,
    assignee_person_id: str | None = None,
    household_id: str | None = None,
    channel: Channel | None = None,
    overdue: bool | None = None,
    escalation: Escalation | None = None,
    submitted_from: datetime | None = None,
    submitted_to: datetime | None = None,
    order_ids: list[str] | None = None,
    plan_id: str | None = None,
    q: str | None = None,
) -> tuple[tuple[OrderScope, frozenset[str], bool | None], dict[str, Any]]:
    """The shape of the list of orders the caller may see, filtered (staff: in their scope; residents: their
    own), and its binds: `orders_statement(*shape)` or `orders_page(*shape)` run with the binds."""
    params: dict[str, Any] = {}
    if is_handler(identity):
        if identity.unrestricted:
            scope: OrderScope = "everywhere"
        elif caller_path is None:
            scope = "nowhere"
        else:
            scope, params["scope_path"] = "subtree", caller_path
    else:
        scope, params["subject"] = ("own_person" if identity.person_id else "own"), identity.subject
        if identity.person_id:
            params["person_id"] = identity.person_id
    filters = dict(
        under_path=under_path, statuses=statuses or None, service_type_ids=service_type_ids or None, provider_id=provider_id,
        assignee_person_id=assignee_person_id, household_id=household_id, channel=channel, escalation=escalation,
        submitted_from=submitted_from, submitted_to=submitted_to, order_ids=order_ids, plan_id=plan_id,
        q=contains_pattern(q) if q else None,
    )
    params.update((name, value) for name, value in filters.items() if value is not None)
    return (scope, frozenset(name for name, value in filters.items() if value is not None), overdue), params


async def transitions_of(session: AsyncSession, order_id: str) -> list[OrderTransition]:
    """An order's history, oldest first."""
    rows = await session.execute(select(OrderTransition).where(OrderTransition.order_id == order_id).order_by(OrderTransition.at, OrderTransition.id))
    return list(rows.scalars())


def _may(identity: Identity, order: Order, action: Action) -> bool:
    if identity.role in HANDLERS:
        return True
    if action in (Action.START, Action.COMPLETE, Action.RETURN):
        return identity.person_id is not None and identity.person_id == order.assignee_person_id
    if action in (Action.CANCEL, Action.EVALUATE):
        return order.entered_by == identity.subject or (identity.person_id is not None and identity.person_id == order.requester_person_id)
    return False


async def _move(session: AsyncSession, *, identity: Identity, order_id: str, action: Action, now: datetime, reason: str | None = None) -> tuple[Order, Status]:
    """Load the order, check the caller and the transition table, apply the new state and record it."""
    require_write(identity, "dispatch")
    order = await get_order(session, identity=identity, order_id=order_id, for_update=True)
    if not _may(identity, order, action):
        raise Problem(403, "forbidden", f"role {identity.role.value} may not {action.value} this order")
    previous = order.status
    try:
        order.status = target_of(action, previous)
    except IllegalTransition as exc:
        raise conflict(str(exc), code="illegal_transition") from exc
    order.updated_at = now
    _record(session, order, action=action.value, from_status=previous, identity=identity, at=now, reason=reason)
    return order, previous


async def accept_order(session: AsyncSession, *, identity: Identity, order_id: str, now: datetime, note: str = "") -> Order:
    """受理: take the order on (this stops the response clock)."""
    order, _ = await _move(session, identity=identity, order_id=order_id, action=Action.ACCEPT, now=now, reason=note)
    order.accepted_at = now
    return order


async def reject_order(session: AsyncSession, *, identity: Identity, order_id: str, now: datetime, reason: str) -> Order:
    """不予受理: refuse the order, with the reason the resident will read."""
    order, _ = await _move(session, identity=identity, order_id=order_id, action=Action.REJECT, now=now, reason=reason)
    order.status_reason, order.closed_at = reason, now
    return order


async def cancel_order(session: AsyncSession, *, identity: Identity, order_id: str, now: datetime, reason: str) -> Order:
    """撤销: withdraw an order not yet served (by the resident or staff)."""
    order, _ = await _move(session, identity=identity, order_id=order_id, action=Action.CANCEL, now=now, reason=reason)
    order.status_reason, order.closed_at = reason, now
    return order


async def _person_name(session: AsyncSession, person_id: str, field: str = "assignee_person_id") -> str:
    person = await session.get(Person, person_id)
    if person is not None:
        return person.name
    name = await session.scalar(select(Liaison.name).where(Liaison.person_id == person_id).limit(1))
    if name is None:
        raise unprocessable("unknown person (not in the grid registry)", code="unknown_person", loc=["body", field])
    return name


async def check_provider(session: AsyncSession, *, provider_id: str, order: Order, now: datetime, slots: int = 1) -> Provider:
    """The provider, if it is active, offers the order's service, covers its unit and has `slots` left this month."""
    statement = select(Provider).where(Provider.id == provider_id)
    if slots and locks_rows(session):
        statement = statement.with_for_update()  # concurrent dispatches to one provider count its capacity one at a time
    provider = await session.scalar(statement)
    if provider is None:
        raise unprocessable("unknown provider", code="unknown_provider", loc=["body", "provider_id"])
    if not provider.active:
        raise conflict(f"provider {provider.name} is not active", code="provider_inactive")
    offers = await session.scalar(
        select(ProviderService.provider_id).where(ProviderService.provider_id == provider.id, ProviderService.service_type_id == order.service_type_id)
    )
    if offers is None:
        raise conflict(f"provider {provider.name} does not offer {order.service_type_code}", code="provider_not_offering")
    if not order.unit_path.startswith(provider.area_path):
        raise conflict(f"provider {provider.name} does not cover this order's unit", code="provider_outside_area")
    if slots:
        used = (await used_capacity(session, provider_ids=[provider.id], month=month_of(now)))[provider.id]
        if used + slots > provider.capacity_per_month:
            raise conflict(
                f"provider {provider.name} has {max(provider.capacity_per_month - used, 0)} of {provider.capacity_per_month} dispatches left this month",
                code="capacity_exhausted",
            )
    return provider


async def routing_for(session: AsyncSession, *, identity: Identity, order_id: str, now: datetime) -> tuple[Order, Routing]:
    """The order and its current candidates (liaisons and providers with capacity)."""
    order = await get_order(session, identity=identity, order_id=order_id)
    service_type = await session.get(ServiceType, order.service_type_id)
    routing = await route(session, service_type=service_type, unit_path=order.unit_path, household_id=order.household_id, day=local_date(now), month=month_of(now))
    return order, routing


async def dispatch_order(
    session: AsyncSession,
    *,
    identity: Identity,
    order_id: str,
    now: datetime,
    provider_id: str | None = None,
    assignee_person_id: str | None = None,
    note: str = "",
    plan_id: str | None = None,
    session_item_id: str | None = None,
    check_capacity: bool = True,
) -> Order:
    """派单: hand the order to a provider or a person (the routing proposal when neither is named); emit OrderDispatched."""
    if provider_id is None and assignee_person_id is None:
        _, routing = await routing_for(session, identity=identity, order_id=order_id, now=now)
        prefer_provider = routing.route_to == RouteTo.PROVIDER
        if prefer_provider and routing.provider:
            provider_id = routing.provider.provider_id
        elif routing.liaison:
            assignee_person_id = routing.liaison.person_id
        elif routing.provider:
            provider_id = routing.provider.provider_id
        else:
            raise unprocessable("no liaison or provider with capacity covers this order; name one", code="no_route")
    order, _ = await _move(session, identity=identity, order_id=order_id, action=Action.DISPATCH, now=now, reason=note)
    if provider_id is not None:
        await check_provider(session, provider_id=provider_id, order=order, now=now, slots=1 if check_capacity else 0)
        order.provider_id, order.assignee_person_id, order.assignee_name = provider_id, None, None
    else:
        order.provider_id, order.assignee_person_id = None, assignee_person_id
        order.assignee_name = await _person_name(session, assignee_person_id)  # type: ignore[arg-type]
    order.dispatched_at, order.status_reason = now, None
    order.plan_id = plan_id or order.plan_id
    order.session_item_id = session_item_id
    emit(
        session,
        OrderDispatched(order_id=order.id, unit_id=order.unit_id, provider_id=order.provider_id, assignee_person_id=order.assignee_person_id, dispatched_at=now),
    )
    return order


async def start_order(session: AsyncSession, *, identity: Identity, order_id: str, now: datetime, note: str = "") -> Order:
    """接单 / 办理中: the provider or person started work."""
    order, _ = await _move(session, identity=identity, order_id=order_id, action=Action.START, now=now, reason=note)
    order.started_at = now
    return order


async def return_order(session: AsyncSession, *, identity: Identity, order_id: str, now: datetime, reason: str) -> Order:
    """退单: the provider declines; the order waits for another dispatch; emit OrderReturned."""
    order, _ = await _move(session, identity=identity, order_id=order_id, action=Action.RETURN, now=now, reason=reason)
    # A declined dispatch does not use the provider's capacity.
    order.provider_id = order.assignee_person_id = order.assignee_name = order.session_item_id = None
    order.status_reason, order.return_count = reason, order.return_count + 1
    emit(session, OrderReturned(order_id=order.id, unit_id=order.unit_id, reason=reason, returned_at=now))
    return order


async def complete_order(session: AsyncSession, *, identity: Identity, order_id: str, now: datetime, body: CompleteBody) -> Order:
    """办结: the order was served; emit OrderCompleted with who served it (for points)."""
    order, _ = await _move(session, identity=identity, order_id=order_id, action=Action.COMPLETE, now=now, reason=body.note)
    served_by = body.served_by_person_id or order.assignee_person_id
    if body.served_by_person_id:
        await _person_name(session, body.served_by_person_id, "served_by_person_id")
    order.served_by_person_id = served_by
    order.served_by_party_member = await is_party_member(session, served_by)
    order.completed_at = order.closed_at = now
    emit(
        session,
        OrderCompleted(
            order_id=order.id, number=order.number, service_type_code=order.service_type_code, unit_id=order.unit_id,
            unit_path=order.unit_path, provider_id=order.provider_id, served_by_person_id=served_by,
            served_by_party_member=order.served_by_party_member, completed_at=now, occurred_on=local_date(now),
        ),
    )
    return order


async def evaluate_order(session: AsyncSession, *, identity: Identity, order_id: str, now: datetime, satisfaction: int, comment: str) -> Order:
    """评价: the resident rates the service 1–5; emit OrderEvaluated."""
    order, _ = await _move(session, identity=identity, order_id=order_id, action=Action.EVALUATE, now=now, reason=comment)
    order.satisfaction, order.evaluation_comment, order.evaluated_at = satisfaction, comment or None, now
    emit(session, OrderEvaluated(order_id=order.id, unit_id=order.unit_id, satisfaction=satisfaction, evaluated_at=now))
    return order


def month_window(month: str | None, first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) in UTC for a 'YYYY-MM' month or inclusive Asia/Shanghai dates."""
    if month:
        return month_range(month)
    start = start_of_day(first) if first else None
    end = start_of_day(last + timedelta(days=1)) if last else None
    return start, end

