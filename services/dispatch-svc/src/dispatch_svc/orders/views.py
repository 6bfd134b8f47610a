"""HTTP endpoints for orders under `/api/v1/dispatch/orders`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import Query, Request
from pydantic import BaseModel
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.access import ORGANISERS, require_role
from dispatch_svc.clock import MONTH_PATTERN, ClockDep
from dispatch_svc.db import grid, platform
from dispatch_svc.orders import overdue, service
from dispatch_svc.orders.models import (
    Channel,
    CompleteBody,
    DispatchBody,
    Escalation,
    EvaluateBody,
    NoteBody,
    OpenOrders,
    Order,
    OrderCreate,
    OrderDetail,
    OrderPublic,
    OrderTransition,
    ReasonBody,
)
from dispatch_svc.orders.overdue import SweepResult
from dispatch_svc.orders.routing import Routing
from dispatch_svc.orders.states import OPEN, Status, allowed_actions
from dispatch_svc.privacy import phone_for
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity, Identity
from shared.pagination import Page, PageDep, as_dicts, page_of
from shared.problems import unprocessable
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/dispatch/orders", tags=["orders"])


def fields(order: Order | Row | dict, identity: Identity, *, in_list: bool) -> dict:
    """An order's API fields (a loaded record, a row of its columns or a dict of them, which is filled in), the
    phone masked as this caller must see it."""
    if isinstance(order, dict):
        data = order
    else:
        # dict(zip(...)): Row._asdict() builds the dict through Python one column at a time.
        data = dict(zip(order._fields, order)) if isinstance(order, Row) else order.model_dump()
    data["contact_phone"] = phone_for(identity, data["contact_phone"], in_list=in_list)
    data["allowed_actions"] = allowed_actions(data["status"])
    return data


def public(order: Order | Row, identity: Identity, *, in_list: bool) -> OrderPublic:
    """The API shape of an order (see `fields`)."""
    return OrderPublic.model_validate(fields(order, identity, in_list=in_list))


async def detail(session: AsyncSession, order: Order, identity: Identity) -> OrderDetail:
    """An order with its recorded history."""
    return to_detail(order, await service.transitions_of(session, order.id), identity)


def to_detail(order: Order | Row, history: Sequence[OrderTransition | dict], identity: Identity) -> OrderDetail:
    """The API shape of an order with its history, validated in one pass."""
    return OrderDetail.model_validate({**fields(order, identity, in_list=False), "transitions": history}, from_attributes=True)


@router.post("", status_code=201, response_model=OrderDetail, summary="Place an order (点单)")
async def create_order(body: OrderCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep, clock: ClockDep):
    """Place an order for a service type in a unit (or for a household, whose micro grid is the unit).

    Residents order for themselves; grid workers and cadres may enter orders on residents' behalf
    (set `channel`). The order's attributes are checked against its service type (422
    `attribute_required` / `invalid_attribute`). The response and completion clocks start now,
    and the order is proposed to the liaison cadre responsible for the household or its grid, or
    to a provider offering the service there with capacity left.
    """

    async def create(session):
        order = await service.create_order(session, identity=identity, data=body, now=clock.now())
        return await detail(session, order, identity)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("", response_model=Page[OrderPublic], summary="List orders")
async def list_orders(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(max_length=26, description="only orders in this unit's subtree")] = None,
    status: Annotated[list[Status] | None, Query(description="one or more statuses")] = None,
    service_type_id: Annotated[list[str] | None, Query(description="one or more service types")] = None,
    provider_id: Annotated[str | None, Query(max_length=26)] = None,
    assignee_person_id: Annotated[str | None, Query(max_length=26)] = None,
    household_id: Annotated[str | None, Query(max_length=26)] = None,
    channel: Channel | None = None,
    overdue: Annotated[bool | None, Query(description="flagged overdue on either clock")] = None,
    escalation: Escalation | None = None,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="submitted in this month (Asia/Shanghai)")] = None,
    from_: Annotated[date | None, Query(alias="from", description="submitted on or after this day (Asia/Shanghai)")] = None,
    to: Annotated[date | None, Query(description="submitted on or before this day (Asia/Shanghai)")] = None,
    plan_id: Annotated[str | None, Query(max_length=26)] = None,
    q: Annotated[str | None, Query(max_length=100, description="number or description contains")] = None,
) -> Page[OrderPublic]:
    """Orders in the caller's scope (residents: their own), newest first; phones masked."""
    start, end = service.month_window(month, from_, to)
    subtree = await grid.list_subtree(db, identity, under)  # the caller's scope, or `under` inside it
    shape, params = service.list_orders_query(
        identity=identity, caller_path=subtree, under_path=subtree if under else None, statuses=status,
        service_type_ids=service_type_id, provider_id=provider_id, assignee_person_id=assignee_person_id,
        household_id=household_id, channel=channel, overdue=overdue, escalation=escalation,
        submitted_from=start, submitted_to=end, plan_id=plan_id, q=q,
    )
    rows, total = await service.orders_page(*shape).fetch(db, page, params)
    return page_of(OrderPublic, [fields(row, identity, in_list=True) for row in as_dicts(rows)], total, page)


# Before `/{order_id}`: routes match in order, and an id never reads "open".
@router.get("/open", response_model=OpenOrders, summary="A unit's open orders and the overdue ones")
async def open_orders(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(max_length=26, description="only orders in this unit's subtree")] = None,
) -> OpenOrders:
    """The orders not yet served and the overdue ones among them, one page of each with its total — what
    `GET /orders?under=&status=<each open status>` and the same with `overdue=true` answer, under the same
    scope rules (residents: their own orders; `under` outside the caller's scope is a 404; without it, the
    caller's whole scope). Open means the statuses the completion clock runs for: submitted, accepted,
    dispatched, in_progress and returned."""
    # The subtree is asked once: both pages filter by it.
    subtree = await grid.list_subtree(db, identity, under)
    under_path = subtree if under else None
    statuses = list(OPEN)
    pages = {}
    for name, overdue_only in (("open", None), ("overdue", True)):
        shape, params = service.list_orders_query(
            identity=identity, caller_path=subtree, under_path=under_path, statuses=statuses, overdue=overdue_only
        )
        rows, total = await service.orders_page(*shape).fetch(db, page, params)
        pages[name] = page_of(OrderPublic, [fields(row, identity, in_list=True) for row in as_dicts(rows)], total, page)
    return OpenOrders(**pages)


@router.get("/{order_id}", response_model=OrderDetail, summary="Read an order with its history")
async def read_order(order_id: str, db: DatabaseDep, identity: CurrentIdentity) -> OrderDetail:
    """One order and every transition (who, when, from, to, why), oldest first; 404 outside scope."""
    order, history = await service.read_order(db, identity=identity, order_id=order_id)
    return to_detail(order, history, identity)


class LiaisonOption(BaseModel):
    """A person answering for the order's household or grid."""

    person_id: str
    name: str
    kind: str
    unit_id: str


class ProviderOption(BaseModel):
    """A provider offering the service where the order is."""

    provider_id: str
    name: str
    area_unit_id: str
    capacity: int
    used: int
    left: int


class RoutingPublic(BaseModel):
    """Candidates for dispatching one order, best first, and what an empty dispatch would pick."""

    order_id: str
    route_to: str
    proposed_person_id: str | None
    proposed_provider_id: str | None
    liaisons: list[LiaisonOption]
    providers: list[ProviderOption]


def routing_public(order_id: str, routing: Routing) -> RoutingPublic:
    """The API shape of a routing."""
    return RoutingPublic(
        order_id=order_id,
        route_to=routing.route_to.value,
        proposed_person_id=routing.liaison.person_id if routing.liaison else None,
        proposed_provider_id=routing.provider.provider_id if routing.provider else None,
        liaisons=[LiaisonOption(person_id=l.person_id, name=l.name, kind=l.kind.value, unit_id=l.unit_id) for l in routing.liaisons],
        providers=[
            ProviderOption(provider_id=p.provider_id, name=p.name, area_unit_id=p.area_unit_id, capacity=p.capacity, used=p.used, left=p.left)
            for p in routing.providers
        ],
    )


@router.get("/{order_id}/routing", response_model=RoutingPublic, summary="Whom an order can be dispatched to")
async def order_routing(order_id: str, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep) -> RoutingPublic:
    """Liaison cadres for the household and its grids (nearest first) and providers covering the unit with their capacity left this month."""
    async with db.session() as session:
        order, routing = await service.routing_for(session, identity=identity, order_id=order_id, now=clock.now())
    return routing_public(order.id, routing)


async def _answer(db, identity: Identity, order: Order) -> OrderDetail:  # noqa: ANN001 - Database
    async with db.session() as session:
        return await detail(session, order, identity)


@router.post("/{order_id}/accept", response_model=OrderDetail, summary="Accept an order (受理)")
async def accept_order(order_id: str, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep, body: NoteBody | None = None) -> OrderDetail:
    """submitted → accepted; stops the response clock. Any other state answers 409 `illegal_transition`."""
    async with db.transaction() as session:
        order = await service.accept_order(session, identity=identity, order_id=order_id, now=clock.now(), note=body.note if body else "")
    return await _answer(db, identity, order)


@router.post("/{order_id}/dispatch", response_model=OrderDetail, summary="Dispatch an order (派单)")
async def dispatch_order(order_id: str, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep, body: DispatchBody | None = None) -> OrderDetail:
    """accepted or returned → dispatched, to `provider_id` or `assignee_person_id` (an empty body takes the routing proposal).

    A provider must be active, offer the service, cover the unit and have capacity left this
    month (409 `capacity_exhausted` otherwise).
    """
    body = body or DispatchBody()
    async with db.transaction() as session:
        order = await service.dispatch_order(
            session, identity=identity, order_id=order_id, now=clock.now(), provider_id=body.provider_id,
            assignee_person_id=body.assignee_person_id, note=body.note,
        )
    return await _answer(db, identity, order)


@router.post("/{order_id}/start", response_model=OrderDetail, summary="Start work on an order (办理中)")
async def start_order(order_id: str, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep, body: NoteBody | None = None) -> OrderDetail:
    """dispatched → in_progress (by staff or the person it was dispatched to)."""
    async with db.transaction() as session:
        order = await service.start_order(session, identity=identity, order_id=order_id, now=clock.now(), note=body.note if body else "")
    return await _answer(db, identity, order)


@router.post("/{order_id}/return", response_model=OrderDetail, summary="Return an order (退单)")
async def return_order(order_id: str, body: ReasonBody, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep) -> OrderDetail:
    """dispatched or in_progress → returned: the provider declines, with the reason; the order waits for another dispatch."""
    async with db.transaction() as session:
        order = await service.return_order(session, identity=identity, order_id=order_id, now=clock.now(), reason=body.reason)
    return await _answer(db, identity, order)


@router.post("/{order_id}/complete", response_model=OrderDetail, summary="Complete an order (办结)")
async def complete_order(order_id: str, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep, body: CompleteBody | None = None) -> OrderDetail:
    """in_progress → completed; records who served it and whether they are a party member (points-svc credits the deed)."""
    async with db.transaction() as session:
        order = await service.complete_order(session, identity=identity, order_id=order_id, now=clock.now(), body=body or CompleteBody())
    return await _answer(db, identity, order)


@router.post("/{order_id}/evaluate", response_model=OrderDetail, summary="Evaluate an order (评价)")
async def evaluate_order(order_id: str, body: EvaluateBody, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep) -> OrderDetail:
    """completed → evaluated, with satisfaction 1–5 and a comment (the resident, or staff entering it)."""
    async with db.transaction() as session:
        order = await service.evaluate_order(
            session, identity=identity, order_id=order_id, now=clock.now(), satisfaction=body.satisfaction, comment=body.comment
        )
    return await _answer(db, identity, order)


@router.post("/{order_id}/cancel", response_model=OrderDetail, summary="Cancel an order (撤销)")
async def cancel_order(order_id: str, body: ReasonBody, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep) -> OrderDetail:
    """Any open state → cancelled, with the reason (the resident who placed it, or staff)."""
    async with db.transaction() as session:
        order = await service.cancel_order(session, identity=identity, order_id=order_id, now=clock.now(), reason=body.reason)
    return await _answer(db, identity, order)


@router.post("/{order_id}/reject", response_model=OrderDetail, summary="Reject an order (不予受理)")
async def reject_order(order_id: str, body: ReasonBody, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep) -> OrderDetail:
    """submitted, accepted or returned → rejected, with the reason the resident will read."""
    async with db.transaction() as session:
        order = await service.reject_order(session, identity=identity, order_id=order_id, now=clock.now(), reason=body.reason)
    return await _answer(db, identity, order)


overdue_router = api_router(prefix="/api/v1/dispatch/overdue", tags=["deadlines"])


class SweepRequest(BaseModel):
    """Judge deadlines as of this instant (the service's clock when omitted)."""

    as_of: datetime | None = None


@overdue_router.post("/sweep", response_model=SweepResult, summary="Run the overdue sweep now")
async def sweep_overdue(request: Request, db: DatabaseDep, identity: CurrentIdentity, clock: ClockDep, body: SweepRequest | None = None) -> SweepResult:
    """Flag orders whose response or completion deadline passed and escalate them (village, then town).

    The same sweep runs in the background every `OVERDUE_SWEEP_INTERVAL_S` seconds; this runs one
    now, optionally as of a given instant. Each newly flagged order emits OrderOverdue.
    """
    require_role(identity, ORGANISERS, "run the overdue sweep")
    as_of = body.as_of if body and body.as_of else clock.now()
    if as_of.tzinfo is None:
        raise unprocessable("as_of needs a timezone offset", loc=["body", "as_of"])
    hours = request.app.state.settings.escalate_to_town_after_hours
    return await overdue.sweep(db, now=as_of, town_after=timedelta(hours=hours))
