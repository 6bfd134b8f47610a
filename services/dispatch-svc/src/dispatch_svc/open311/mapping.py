"""How catalogue entries and orders look in GeoReport v2 (field names, statuses, datetimes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.catalogue.models import Category, Datatype, ServiceType
from dispatch_svc.catalogue.service import specs_of
from dispatch_svc.clock import SHANGHAI
from dispatch_svc.orders.models import Order
from dispatch_svc.orders.states import Status
from dispatch_svc.providers.models import Provider

CLOSED = frozenset({Status.COMPLETED, Status.EVALUATED, Status.CANCELLED, Status.REJECTED})

STATUS_NOTES = {
    Status.SUBMITTED: "已提交，等待受理",
    Status.ACCEPTED: "已受理",
    Status.DISPATCHED: "已派单",
    Status.IN_PROGRESS: "办理中",
    Status.COMPLETED: "已办结",
    Status.EVALUATED: "已办结并评价",
    Status.RETURNED: "已退单，等待重新派单",
    Status.CANCELLED: "已撤销",
    Status.REJECTED: "不予受理",
}

CATEGORY_NAMES = {
    Category.EMERGENCY_TRAINING: "应急培训",
    Category.CULTURE: "文化",
    Category.HEALTH: "卫生健康",
    Category.LEGAL: "法律",
    Category.ELDERLY_CARE: "养老",
    Category.REPAIRS: "维修",
    Category.OTHER: "其他",
}

_DATATYPE_HINTS = {
    Datatype.STRING: "短文本",
    Datatype.NUMBER: "数字",
    Datatype.DATETIME: "日期时间 (ISO 8601)",
    Datatype.TEXT: "长文本",
    Datatype.SINGLEVALUELIST: "单选",
    Datatype.MULTIVALUELIST: "多选",
}


def w3c(at: datetime | None) -> str | None:
    """A W3C datetime with the Asia/Shanghai offset, as GeoReport clients read it."""
    return at.astimezone(SHANGHAI).isoformat(timespec="seconds") if at else None


def open_or_closed(status: Status) -> str:
    """GeoReport knows two statuses."""
    return "closed" if status in CLOSED else "open"


def service(service_type: ServiceType) -> dict[str, Any]:
    """One entry of services.{fmt}."""
    return {
        "service_code": service_type.code,
        "service_name": service_type.name,
        "description": service_type.description,
        "metadata": bool(service_type.attributes),
        "type": "realtime",
        "keywords": service_type.category.value,
        "group": CATEGORY_NAMES[service_type.category],
    }


def definition(service_type: ServiceType) -> dict[str, Any]:
    """services/{code}.{fmt}: the attributes a request of this type carries."""
    return {
        "service_code": service_type.code,
        "attributes": [
            {
                "variable": True,
                "code": spec.code,
                "datatype": spec.datatype.value,
                "required": spec.required,
                "datatype_description": _DATATYPE_HINTS[spec.datatype],
                "order": index + 1,
                "description": spec.description,
                "values": [{"key": v.key, "name": v.name} for v in spec.values],
            }
            for index, spec in enumerate(specs_of(service_type))
        ],
    }


async def requests(session: AsyncSession, orders: list[Order]) -> list[dict[str, Any]]:
    """requests.{fmt}: orders as service requests."""
    names = {s.id: s.name for s in (await session.execute(select(ServiceType).where(ServiceType.id.in_({o.service_type_id for o in orders})))).scalars()}
    provider_ids = {o.provider_id for o in orders if o.provider_id}
    providers = {p.id: p.name for p in (await session.execute(select(Provider).where(Provider.id.in_(provider_ids)))).scalars()} if provider_ids else {}
    return [
        {
            "service_request_id": order.id,
            "status": open_or_closed(order.status),
            "status_notes": order.status_reason or STATUS_NOTES[order.status],
            "service_name": names.get(order.service_type_id, order.service_type_code),
            "service_code": order.service_type_code,
            "description": order.description,
            "agency_responsible": providers.get(order.provider_id or "") or order.assignee_name or "",
            "service_notice": "",
            "requested_datetime": w3c(order.submitted_at),
            "updated_datetime": w3c(order.updated_at),
            "expected_datetime": w3c(order.completion_due_at),
            "address": order.address,
            "address_id": order.household_id or "",
            "zipcode": "",
            "lat": order.lat,
            "long": order.lng,
            "media_url": order.media_url or "",
        }
        for order in orders
    ]
