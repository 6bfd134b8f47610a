"""What a person's summary returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dispatch_svc.lectures.models import LecturePublic
from dispatch_svc.orders.models import OrderPublic
from shared.pagination import Page


class PersonSummary(BaseModel):
    """A person's orders and lectures at a glance: what the gateway's member profile needs from dispatch-svc, in one answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_id": "01JD…",
                    "orders": {"items": [{"id": "01JD…", "number": "D20260310-0001", "status": "completed",
                                          "assignee_person_id": "01JD…", "contact_phone": "138****1234"}],
                               "total": 3, "page": 1, "per_page": 10},
                    "lectures": {"items": [{"id": "01JD…", "theme": "防范电信诈骗", "held_on": "2026-03-03", "attendees": 35}],
                                 "total": 2, "page": 1, "per_page": 10},
                }
            ]
        }
    )

    person_id: str = Field(description="the person of the grid registry")
    orders: Page[OrderPublic] = Field(
        description="orders assigned to the person that the caller may see: the newest 10 and their total "
        "(as `GET /orders?assignee_person_id=&per_page=10` answers, phones masked)"
    )
    lectures: Page[LecturePublic] = Field(
        description="lectures the person gave that the caller may see: the newest 10 and their total "
        "(as `GET /lectures?lecturer_person_id=&per_page=10` answers)"
    )
