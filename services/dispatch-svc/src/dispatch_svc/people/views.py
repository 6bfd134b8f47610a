"""HTTP endpoints for a person's work under `/api/v1/dispatch/people`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from dispatch_svc.db import grid
from dispatch_svc.lectures import service as lectures
from dispatch_svc.lectures.models import LecturePublic
from dispatch_svc.orders import service as orders
from dispatch_svc.orders import views as order_views
from dispatch_svc.orders.models import OrderPublic
from dispatch_svc.people.models import PersonSummary
from shared.identity import CurrentIdentity
from shared.pagination import PageParams, page_of
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/dispatch/people", tags=["people"])

NEWEST = PageParams(page=1, per_page=10)


@router.get("/{person_id}/summary", response_model=PersonSummary, summary="A person's orders and lectures")
async def person_summary(
    person_id: Annotated[str, Path(max_length=26)], db: DatabaseDep, identity: CurrentIdentity
) -> PersonSummary:
    """The orders assigned to the person and the lectures they gave, the newest 10 of each with their totals —
    what `GET /orders?assignee_person_id=` and `GET /lectures?lecturer_person_id=` answer (page 1 of 10), under
    the same scope rules: staff count and see what lies in their scope, residents and members their own orders.
    A person with nothing (or nothing in scope) has totals of 0."""
    # The caller's scope path, asked once: both lists filter by it (an unknown scope unit matches nothing).
    subtree = await grid.list_subtree(db, identity, None)
    assigned, params = orders.list_orders_query(identity=identity, caller_path=subtree, assignee_person_id=person_id)
    rows, total = await orders.orders_page(*assigned).fetch(db, NEWEST, params)
    served = page_of(OrderPublic, [order_views.fields(row, identity, in_list=True) for row in rows], total, NEWEST)
    shape, params = lectures.list_lectures_query(subtree=subtree, lecturer_person_id=person_id)
    rows, total = await lectures.lectures_page(shape).fetch(db, NEWEST, params)
    given = page_of(LecturePublic, lectures.lectures_of(rows), total, NEWEST)
    return PersonSummary(person_id=person_id, orders=served, lectures=given)
