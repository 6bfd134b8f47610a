"""Activity use cases: record one (emit ActivityHeld), list and count."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.access import HANDLERS, require_role
from dispatch_svc.activities.models import Activity, ActivityCreate, ActivityKind, KindCount
from dispatch_svc.clock import local_date
from dispatch_svc.db import grid
from dispatch_svc.providers.models import Provider
from shared.events.dispatch import ActivityHeld
from shared.identity import Identity
from shared.ids import new_id
from shared.outbox import emit
from shared.problems import not_found, unprocessable
from shared.scope import in_subtree, path_in_scope, scope_condition

FUTURE_SLACK = timedelta(hours=1)


async def create_activity(session: AsyncSession, *, identity: Identity, data: ActivityCreate, now: datetime) -> Activity:
    """Record a held activity; emit ActivityHeld."""
    require_role(identity, HANDLERS, "record activities")
    unit = await grid.get_in_scope(session, identity, data.unit_id)
    if data.held_at > now + FUTURE_SLACK:
        raise unprocessable("an activity is recorded once it has been held", code="not_held_yet", loc=["body", "held_at"])
    if data.provider_id and await session.get(Provider, data.provider_id) is None:
        raise unprocessable("unknown provider", code="unknown_provider", loc=["body", "provider_id"])
    activity = Activity(
        id=new_id(), **data.model_dump(exclude={"unit_id"}), unit_id=unit.id, unit_path=unit.path,
        held_on=local_date(data.held_at), recorded_by=identity.subject, created_at=now,
    )
    session.add(activity)
    emit(
        session,
        ActivityHeld(
            activity_id=activity.id, kind=activity.kind.value, unit_id=unit.id, unit_path=unit.path, title=activity.title,
            held_on=activity.held_on, attendees=activity.attendees,
        ),
    )
    return activity


async def get_activity(session: AsyncSession, *, identity: Identity, activity_id: str) -> Activity:
    """An activity in the caller's scope, else 404."""
    activity = await session.get(Activity, activity_id)
    if activity is None or not path_in_scope(activity.unit_path, identity, await grid.scope_path(session, identity)):
        raise not_found("activity")
    return activity


def _in_period(statement: Select, *, under_path: str | None, first: date | None, last: date | None, kind: ActivityKind | None) -> Select:
    if under_path:
        statement = statement.where(in_subtree(Activity.unit_path, under_path))
    if first:
        statement = statement.where(Activity.held_on >= first)
    if last:
        statement = statement.where(Activity.held_on <= last)
    if kind:
        statement = statement.where(Activity.kind == kind)
    return statement


def activities_query(
    *, identity: Identity, caller_path: str | None, under_path: str | None, first: date | None, last: date | None, kind: ActivityKind | None
) -> Select:
    """Activities in scope, filtered, newest first."""
    statement = select(Activity).where(scope_condition(Activity.unit_path, identity, caller_path))
    statement = _in_period(statement, under_path=under_path, first=first, last=last, kind=kind)
    return statement.order_by(Activity.held_at.desc(), Activity.id.desc())


async def count(session: AsyncSession, *, unit_path: str, first: date | None, last: date | None) -> dict[ActivityKind, KindCount]:
    """Activities and attendees per kind under a unit between two days (every kind present)."""
    statement = _in_period(
        select(Activity.kind, func.count(Activity.id), func.coalesce(func.sum(Activity.attendees), 0)),
        under_path=unit_path, first=first, last=last, kind=None,
    ).group_by(Activity.kind)
    counts = {kind: KindCount() for kind in ActivityKind}
    for kind, activities, attendees in (await session.execute(statement)).all():
        counts[ActivityKind(kind)] = KindCount(activities=int(activities), attendees=int(attendees))
    return counts
