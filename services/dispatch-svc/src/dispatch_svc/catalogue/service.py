"""Service type use cases: add, change, look up, and check an order's attributes against the type."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.access import CATALOGUE_ADMINS, require_role
from dispatch_svc.catalogue.models import (
    AttributeSpec,
    Category,
    Datatype,
    ServiceType,
    ServiceTypeCreate,
    ServiceTypeUpdate,
)
from shared.identity import Identity
from shared.ids import new_id
from shared.problems import conflict, not_found, unprocessable


async def create_service_type(session: AsyncSession, *, identity: Identity, data: ServiceTypeCreate, now: datetime) -> ServiceType:
    """Add a service type; its code is unique across the catalogue."""
    require_role(identity, CATALOGUE_ADMINS, "change the service catalogue")
    if await session.scalar(select(ServiceType.id).where(ServiceType.code == data.code)):
        raise conflict(f"service type code {data.code} already exists", code="duplicate_code")
    service_type = ServiceType(
        id=new_id(),
        **data.model_dump(exclude={"attributes"}),
        attributes=[a.model_dump(mode="json") for a in data.attributes],
        created_at=now,
        updated_at=now,
    )
    session.add(service_type)
    return service_type


async def update_service_type(
    session: AsyncSession, *, identity: Identity, service_type_id: str, data: ServiceTypeUpdate, now: datetime
) -> ServiceType:
    """Change a service type; orders already placed keep their deadlines."""
    require_role(identity, CATALOGUE_ADMINS, "change the service catalogue")
    service_type = await get_service_type(session, service_type_id=service_type_id)
    changes = data.model_dump(exclude_unset=True)
    if "attributes" in changes:
        attributes = data.attributes or []
        if len({a.code for a in attributes}) != len(attributes):
            raise unprocessable("attribute codes must be unique", loc=["body", "attributes"])
        changes["attributes"] = [a.model_dump(mode="json") for a in attributes]
    for field, value in changes.items():
        if value is None and field != "attributes":
            raise unprocessable(f"{field} cannot be null", loc=["body", field])
        setattr(service_type, field, value)
    service_type.updated_at = now
    return service_type


async def get_service_type(session: AsyncSession, *, service_type_id: str) -> ServiceType:
    """One service type by id, else 404."""
    service_type = await session.get(ServiceType, service_type_id)
    if service_type is None:
        raise not_found("service type")
    return service_type


async def get_by_code(session: AsyncSession, *, code: str) -> ServiceType | None:
    """One service type by code, or None."""
    return await session.scalar(select(ServiceType).where(ServiceType.code == code))


def list_service_types_query(*, category: Category | None, active: bool | None, q: str | None) -> Select:
    """Service types filtered, ordered by code."""
    statement = select(ServiceType)
    if category is not None:
        statement = statement.where(ServiceType.category == category)
    if active is not None:
        statement = statement.where(ServiceType.active == active)
    if q:
        statement = statement.where(ServiceType.name.contains(q, autoescape=True) | ServiceType.code.contains(q, autoescape=True))
    return statement.order_by(ServiceType.code)


def specs_of(service_type: ServiceType) -> list[AttributeSpec]:
    """The attribute specs of a type, typed."""
    return [AttributeSpec.model_validate(a) for a in service_type.attributes or []]


def check_attributes(service_type: ServiceType, given: dict[str, Any]) -> dict[str, Any]:
    """Validate an order's attributes against its type: required ones present, values of the right kind."""
    specs = {s.code: s for s in specs_of(service_type)}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise unprocessable(f"unknown attributes for {service_type.code}: {', '.join(unknown)}", loc=["body", "attributes"])
    checked: dict[str, Any] = {}
    for code, spec in specs.items():
        value = given.get(code)
        if value is None or value == "" or value == []:
            if spec.required:
                raise unprocessable(f"attribute {code} ({spec.description}) is required", code="attribute_required", loc=["body", "attributes", code])
            continue
        checked[code] = _checked_value(spec, value)
    return checked


def _checked_value(spec: AttributeSpec, value: Any) -> Any:
    loc = ["body", "attributes", spec.code]
    keys = {v.key for v in spec.values}
    if spec.datatype == Datatype.NUMBER:
        try:
            return float(value) if not isinstance(value, bool) else _bad(spec, loc)
        except (TypeError, ValueError):
            _bad(spec, loc)
    if spec.datatype == Datatype.DATETIME:
        try:
            return datetime.fromisoformat(str(value)).isoformat()
        except ValueError:
            _bad(spec, loc)
    if spec.datatype == Datatype.SINGLEVALUELIST:
        if str(value) not in keys:
            _bad(spec, loc)
        return str(value)
    if spec.datatype == Datatype.MULTIVALUELIST:
        values = value if isinstance(value, list) else [value]
        if not values or any(str(v) not in keys for v in values):
            _bad(spec, loc)
        return [str(v) for v in values]
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        _bad(spec, loc)
    return str(value)[:2000]


def _bad(spec: AttributeSpec, loc: list) -> Any:
    allowed = f" (one of {', '.join(v.key for v in spec.values)})" if spec.values else ""
    raise unprocessable(f"attribute {spec.code} must be a {spec.datatype.value}{allowed}", code="invalid_attribute", loc=loc)
