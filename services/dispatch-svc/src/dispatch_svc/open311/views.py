"""Open311 GeoReport v2 under `/open311/v2/…`, each path in `.json` and `.xml`.

The gateway checks the `api_key` and forwards the caller's identity, so requests and tokens
take the identity header like every other endpoint (an `api_key` form field is accepted and
ignored); discovery and the service list are public. Errors use GeoReport's format:
`[{"code": 404, "description": "…"}]` or `<errors><error>…</error></errors>`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from dispatch_svc.access import scope_path
from dispatch_svc.catalogue.models import ServiceType
from dispatch_svc.catalogue.service import get_by_code
from dispatch_svc.clock import ClockDep
from dispatch_svc.db import grid
from dispatch_svc.open311 import mapping
from dispatch_svc.open311.formats import FORMATS, Open311Error, check_format, fmt_of, render
from dispatch_svc.orders import service as orders
from dispatch_svc.orders.models import Channel, Order, OrderCreate, RequesterKind
from dispatch_svc.orders.states import Status
from dispatch_svc.roster.models import Household
from shared.identity import IDENTITY_HEADER, Identity, verify_identity_token
from shared.ids import new_id
from shared.problems import Problem, ProblemDetail
from shared.routing import api_router
from shared.service import DatabaseDep


class GeoReportError(BaseModel):
    """One error in GeoReport's format (the body is a list of them)."""

    code: int
    description: str


# GeoReport answers its own errors as a list; request validation and server faults stay problem+json.
_ERRORS = {"model": list[GeoReportError] | ProblemDetail, "content": {"application/xml": {}, "application/problem+json": {}}}
router = api_router(
    prefix="/open311/v2", tags=["Open311 GeoReport v2"],
    responses={"4XX": {**_ERRORS, "description": "GeoReport error list (or problem+json for malformed requests)"},
               "5XX": {**_ERRORS, "description": "Server error"}},
)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-03-01T00:00:00+08:00"
DEFAULT_WINDOW = timedelta(days=90)  # the spec's default when no start_date is given
MAX_RESULTS = 1000
_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_]+)\](\[\])?$")


async def _optional_identity(request: Request) -> Identity | None:  # async: called inline, not in a worker thread
    token = request.headers.get(IDENTITY_HEADER)
    if not token:
        return None
    try:
        return verify_identity_token(token, request.app.state.settings.identity_secret.get_secret_value())
    except Problem as exc:
        raise Open311Error(401, exc.detail or "invalid identity", fmt_of(request)) from exc


OptionalIdentity = Annotated[Identity | None, Depends(_optional_identity)]


def _required(identity: Identity | None, fmt: str) -> Identity:
    if identity is None:
        raise Open311Error(401, "an api_key is required for service requests", fmt)
    return identity


@asynccontextmanager
async def _as_open311(fmt: str) -> AsyncIterator[None]:
    """Answer the platform's problems in GeoReport's error format."""
    try:
        yield
    except Problem as exc:
        status = 400 if exc.status == 422 else exc.status
        description = exc.detail or exc.code
        if exc.errors:
            description += "; " + "; ".join(f"{'.'.join(str(p) for p in e.get('loc') or [])}: {e.get('msg')}" for e in exc.errors)
        raise Open311Error(status, description, fmt) from exc


def _w3c(value: str, name: str, fmt: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} must be a W3C datetime such as 2026-03-10T09:00:00+08:00", fmt) from None
    if parsed.tzinfo is None:
        raise Open311Error(400, f"{name} needs a timezone offset", fmt)
    return parsed


@router.get("/discovery.{fmt}", summary="GeoReport discovery")
async def discovery(fmt: str, request: Request) -> Response:
    """Where this GeoReport v2 endpoint lives and which formats it speaks."""
    fmt = check_format(fmt)
    settings = request.app.state.settings
    payload = {
        "changeset": CHANGESET,
        "contact": settings.open311_contact,
        "key_service": "API keys are issued by the county platform administrators",
        "endpoints": [
            {"specification": SPECIFICATION, "url": settings.open311_base_url, "changeset": CHANGESET, "type": "production",
             "formats": list(FORMATS.values())},
        ],
    }
    return render(fmt, payload, root="discovery")


@router.get("/services.{fmt}", summary="GeoReport service list")
async def list_services(fmt: str, db: DatabaseDep) -> Response:
    """Every active service type of the catalogue, as GeoReport services."""
    fmt = check_format(fmt)
    async with db.session() as session:
        rows = (await session.execute(select(ServiceType).where(ServiceType.active.is_(True)).order_by(ServiceType.code))).scalars().all()
    return render(fmt, [mapping.service(s) for s in rows], root="services", item_tag="service")


@router.get("/services/{service_code}.{fmt}", summary="GeoReport service definition")
async def service_definition(service_code: str, fmt: str, db: DatabaseDep) -> Response:
    """The attributes a request of one service carries."""
    fmt = check_format(fmt)
    async with db.session() as session:
        service_type = await get_by_code(session, code=service_code)
    if service_type is None or not service_type.active:
        raise Open311Error(404, f"service_code {service_code} not found", fmt)
    return render(fmt, mapping.definition(service_type), root="service_definition")


@router.get("/requests.{fmt}", summary="GeoReport: query service requests")
async def query_requests(fmt: str, request: Request, db: DatabaseDep, identity: OptionalIdentity, clock: ClockDep) -> Response:
    """Service requests the caller may see, newest first, at most 1000.

    Filters: `service_request_id` (comma-separated; the others are then ignored), `service_code`
    (comma-separated), `start_date` / `end_date` (W3C datetimes; the last 90 days by default),
    `status` (`open`, `closed`, comma-separated) and `jurisdiction_id` (a unit id).
    """
    fmt = check_format(fmt)
    caller = _required(identity, fmt)
    params = request.query_params
    async with _as_open311(fmt), db.session() as session:
        caller_path = await scope_path(session, caller)
        ids = [i for i in params.get("service_request_id", "").split(",") if i]
        if ids:
            shape, binds = orders.list_orders_query(identity=caller, caller_path=caller_path, order_ids=ids)
        else:
            start = _w3c(params["start_date"], "start_date", fmt) if params.get("start_date") else None
            end = _w3c(params["end_date"], "end_date", fmt) if params.get("end_date") else None
            if start is None:
                start = (end or clock.now()) - DEFAULT_WINDOW
            statuses = _statuses(params.get("status", ""), fmt)
            codes = [c for c in params.get("service_code", "").split(",") if c]
            type_ids = list((await session.execute(select(ServiceType.id).where(ServiceType.code.in_(codes)))).scalars()) if codes else None
            if codes and not type_ids:
                return render(fmt, [], root="service_requests", item_tag="request")
            under = params.get("jurisdiction_id")
            under_path = (await grid.get_in_scope(session, caller, under)).path if under else None
            shape, binds = orders.list_orders_query(
                identity=caller, caller_path=caller_path, under_path=under_path, statuses=statuses, service_type_ids=type_ids,
                submitted_from=start, submitted_to=end + timedelta(microseconds=1) if end else None,
            )
        rows = (await session.execute(orders.orders_statement(*shape).limit(MAX_RESULTS), binds)).scalars().all()
        payload = await mapping.requests(session, list(rows))
    return render(fmt, payload, root="service_requests", item_tag="request")


def _statuses(value: str, fmt: str) -> list[Status] | None:
    wanted = {s.strip() for s in value.split(",") if s.strip()}
    if not wanted:
        return None
    unknown = wanted - {"open", "closed"}
    if unknown:
        raise Open311Error(400, f"status must be open or closed, not {', '.join(sorted(unknown))}", fmt)
    return [s for s in Status if mapping.open_or_closed(s) in wanted]


@router.get("/requests/{service_request_id}.{fmt}", summary="GeoReport: one service request")
async def read_request(service_request_id: str, fmt: str, db: DatabaseDep, identity: OptionalIdentity) -> Response:
    """One service request (a list of one, as the spec has it); 404 when unknown or outside the caller's scope."""
    fmt = check_format(fmt)
    caller = _required(identity, fmt)
    async with _as_open311(fmt), db.session() as session:
        order = await orders.get_order(session, identity=caller, order_id=service_request_id)
        payload = await mapping.requests(session, [order])
    return render(fmt, payload, root="service_requests", item_tag="request")


@router.get("/tokens/{token}.{fmt}", summary="GeoReport: service request id from a token")
async def read_token(token: str, fmt: str, db: DatabaseDep, identity: OptionalIdentity) -> Response:
    """The service request a token given at submission stands for."""
    fmt = check_format(fmt)
    caller = _required(identity, fmt)
    async with _as_open311(fmt), db.session() as session:
        order_id = await session.scalar(select(Order.id).where(Order.open311_token == token))
        if order_id is None:
            raise Open311Error(404, f"token {token} not found", fmt)
        await orders.get_order(session, identity=caller, order_id=order_id)
    return render(fmt, [{"service_request_id": order_id, "token": token}], root="service_requests", item_tag="request")


@router.post("/requests.{fmt}", summary="GeoReport: submit a service request")
async def submit_request(fmt: str, request: Request, db: DatabaseDep, identity: OptionalIdentity, clock: ClockDep) -> Response:
    """Place an order from a form-encoded GeoReport request (`api_key` is accepted and ignored: the gateway checked it).

    Where: `address_id` (a household id) puts the order in the household's micro grid; otherwise
    `jurisdiction_id` (a unit id), otherwise the caller's own scope unit. One of `lat`+`long`,
    `address_string` or `address_id` is required, as the spec demands. Attributes come as
    `attribute[code]=value` (`attribute[code][]` repeated for multi-value lists).
    """
    fmt = check_format(fmt)
    caller = _required(identity, fmt)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    service_code = fields.get("service_code", "").strip()
    if not service_code:
        raise Open311Error(400, "service_code is required", fmt)
    lat, lng = _coordinate(fields.get("lat"), "lat", fmt), _coordinate(fields.get("long"), "long", fmt)
    if (lat is None) != (lng is None):
        raise Open311Error(400, "lat and long come together", fmt)
    address_id = fields.get("address_id") or None
    if lat is None and not fields.get("address_string") and not address_id:
        raise Open311Error(400, "a location is required: lat and long, address_string or address_id", fmt)
    attributes: dict[str, object] = {}
    for key in form:
        match = _ATTRIBUTE.match(key)
        if match:
            values = [v for v in form.getlist(key) if isinstance(v, str)]
            attributes[match.group(1)] = values if match.group(2) else values[-1]
    token = new_id()
    async with _as_open311(fmt), db.transaction() as session:
        service_type = await get_by_code(session, code=service_code)
        if service_type is None:
            raise Open311Error(404, f"service_code {service_code} not found", fmt)
        unit_id = None
        if address_id:
            household = await session.get(Household, address_id)
            if household is None:
                raise Open311Error(400, f"address_id {address_id} is not a known household", fmt)
        else:
            unit_id = fields.get("jurisdiction_id") or caller.scope_unit_id
            if unit_id is None:
                raise Open311Error(400, "jurisdiction_id is required for callers without a scope unit", fmt)
        name = " ".join(part for part in (fields.get("last_name", ""), fields.get("first_name", "")) if part).strip()
        try:
            data = OrderCreate(
                service_type_id=service_type.id,
                unit_id=unit_id,
                household_id=address_id,
                requester_kind=RequesterKind.HOUSEHOLD if address_id else RequesterKind.RESIDENT,
                requester_name=name[:100],
                contact_phone=fields.get("phone", "")[:30],
                channel=Channel.OPEN311,
                description=(fields.get("description") or service_type.name)[:4000],
                address=(fields.get("address_string") or "")[:300],
                lat=lat,
                lng=lng,
                attributes=attributes,
                media_url=fields.get("media_url") or None,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            raise Open311Error(400, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", fmt) from exc
        order = await orders.create_order(session, identity=caller, data=data, now=clock.now(), open311_token=token)
        account_id = fields.get("account_id", "")
    return render(
        fmt,
        [{"service_request_id": order.id, "token": token, "service_notice": f"编号 {order.number}，将于 {mapping.w3c(order.response_due_at)} 前受理", "account_id": account_id}],
        root="service_requests",
        item_tag="request",
        status_code=201,
    )


def _coordinate(value: str | None, name: str, fmt: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number", fmt) from None
    limit = 90 if name == "lat" else 180
    if not -limit <= number <= limit:
        raise Open311Error(400, f"{name} is out of range", fmt)
    return number
