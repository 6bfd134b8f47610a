"""Lecture use cases: record a session (emit LectureHeld), list, count, and the lecturer pool."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.access import HANDLERS, require_role
from dispatch_svc.clock import local_date
from dispatch_svc.db import grid
from dispatch_svc.lectures.models import Lecture, LectureCreate, LectureLecturer, LecturerStats
from dispatch_svc.roster.models import Person
from shared.events.dispatch import LectureHeld
from shared.identity import Identity
from shared.ids import new_id
from shared.outbox import emit
from shared.pagination import PagedQuery, as_dicts
from shared.problems import not_found, unprocessable
from shared.scope import in_named_subtree, in_subtree, path_in_scope

# A session may be recorded a little ahead of its start (set up on site before it begins).
FUTURE_SLACK = timedelta(hours=1)


async def create_lecture(session: AsyncSession, *, identity: Identity, data: LectureCreate, now: datetime) -> tuple[Lecture, list[LectureLecturer]]:
    """Record a held session; lecturers must be people of the grid registry; emit LectureHeld."""
    require_role(identity, HANDLERS, "record lectures")
    unit = await grid.get_in_scope(session, identity, data.unit_id)
    if data.held_at > now + FUTURE_SLACK:
        raise unprocessable("a lecture is recorded once it has been held", code="not_held_yet", loc=["body", "held_at"])
    if data.roster is not None and data.attendees < len(data.roster):
        raise unprocessable("attendees is fewer than the roster", loc=["body", "attendees"])
    people = {p.id: p for p in (await session.execute(select(Person).where(Person.id.in_(data.lecturer_person_ids)))).scalars()}
    unknown = [p for p in data.lecturer_person_ids if p not in people]
    if unknown:
        raise unprocessable(f"not in the grid registry: {', '.join(unknown)}", code="unknown_person", loc=["body", "lecturer_person_ids"])
    lecture = Lecture(
        id=new_id(), unit_id=unit.id, unit_path=unit.path, theme=data.theme, place=data.place, held_at=data.held_at,
        held_on=local_date(data.held_at), duration_minutes=data.duration_minutes, attendees=data.attendees, roster=data.roster,
        description=data.description, recorded_by=identity.subject, created_at=now,
    )
    session.add(lecture)
    await session.flush()
    lecturers = [LectureLecturer(lecture_id=lecture.id, person_id=p, name=people[p].name, position=i) for i, p in enumerate(data.lecturer_person_ids)]
    session.add_all(lecturers)
    emit(
        session,
        LectureHeld(
            lecture_id=lecture.id, unit_id=unit.id, unit_path=unit.path, theme=lecture.theme, held_on=lecture.held_on,
            lecturer_person_ids=data.lecturer_person_ids, attendees=lecture.attendees,
        ),
    )
    return lecture, lecturers


async def lecturers_of(session: AsyncSession, lecture_ids: list[str]) -> dict[str, list[LectureLecturer]]:
    """Lecture id → its lecturers in the order given."""
    rows = await session.execute(select(LectureLecturer).where(LectureLecturer.lecture_id.in_(lecture_ids)).order_by(LectureLecturer.position))
    found: dict[str, list[LectureLecturer]] = {i: [] for i in lecture_ids}
    for lecturer in rows.scalars():
        found[lecturer.lecture_id].append(lecturer)
    return found


def _in_period(statement: Select, *, under_path: str | None, first: date | None, last: date | None) -> Select:
    if under_path:
        statement = statement.where(in_subtree(Lecture.unit_path, under_path))
    if first:
        statement = statement.where(Lecture.held_on >= first)
    if last:
        statement = statement.where(Lecture.held_on <= last)
    return statement


# The lecture list's filters, each bound by its own name.
_LECTURE_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "subtree": lambda: in_named_subtree(Lecture.unit_path, "subtree"),
    "first": lambda: Lecture.held_on >= bindparam("first"),
    "last": lambda: Lecture.held_on <= bindparam("last"),
    "lecturer_person_id": lambda: Lecture.id.in_(
        select(LectureLecturer.lecture_id).where(LectureLecturer.person_id == bindparam("lecturer_person_id"))
    ),
}


@cache
def lectures_page(filters: frozenset[str]) -> PagedQuery:
    """The lecture list of one shape, built once (so its compiled form is found again): newest first, ties by id.
    A page's lectures are picked first, then read one row per lecturer in the order given (`lecturer_person_id`,
    `lecturer_name`), so a page and its lecturers come in one round trip; `lectures_of` folds the rows."""
    statement = select(Lecture)
    for name, condition in _LECTURE_FILTERS.items():  # in a fixed order, whatever the order of `filters`
        if name in filters:
            statement = statement.where(condition())
    newest = (Lecture.held_at.desc(), Lecture.id.desc())
    with_lecturers = (
        select(Lecture, LectureLecturer.person_id.label("lecturer_person_id"), LectureLecturer.name.label("lecturer_name"))
        .outerjoin(LectureLecturer, LectureLecturer.lecture_id == Lecture.id)
        .order_by(*newest, LectureLecturer.position)
    )
    return PagedQuery.by_keys(statement.order_by(*newest), Lecture.id, read=with_lecturers)


def list_lectures_query(
    *, subtree: str | None, first: date | None = None, last: date | None = None, lecturer_person_id: str | None = None
) -> tuple[frozenset[str], dict[str, Any]]:
    """The shape of a lecture list and its binds, for `lectures_page`: sessions in `subtree` (the caller's scope or
    a unit inside it, see `list_subtree`; None: everywhere), held between two days (inclusive), by one lecturer."""
    values = {"subtree": subtree, "first": first, "last": last, "lecturer_person_id": lecturer_person_id}
    params = {name: value for name, value in values.items() if value is not None}
    return frozenset(params), params


def lectures_of(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """The lectures of a page read by `lectures_page`, each a dict of its columns with its `lecturers` in order."""
    lectures: dict[str, dict[str, Any]] = {}
    for row in as_dicts(rows):
        person_id, name = row.pop("lecturer_person_id"), row.pop("lecturer_name")
        lecture = lectures.get(row["id"])
        if lecture is None:
            lecture = lectures[row["id"]] = {**row, "lecturers": []}
        if person_id is not None:
            lecture["lecturers"].append({"person_id": person_id, "name": name})
    return list(lectures.values())


async def get_lecture(session: AsyncSession, *, identity: Identity, lecture_id: str) -> Lecture:
    """A session in the caller's scope, else 404."""
    lecture = await session.get(Lecture, lecture_id)
    if lecture is None or not path_in_scope(lecture.unit_path, identity, await grid.scope_path(session, identity)):
        raise not_found("lecture")
    return lecture


async def count(session: AsyncSession, *, unit_path: str, first: date | None, last: date | None) -> tuple[int, int, int]:
    """Sessions, attendees and distinct lecturers under a unit between two days."""
    ids = _in_period(select(Lecture.id), under_path=unit_path, first=first, last=last)
    sessions, attendees = (
        await session.execute(select(func.count(Lecture.id), func.coalesce(func.sum(Lecture.attendees), 0)).where(Lecture.id.in_(ids)))
    ).one()
    lecturers = await session.scalar(select(func.count(distinct(LectureLecturer.person_id))).where(LectureLecturer.lecture_id.in_(ids)))
    return int(sessions), int(attendees), int(lecturers or 0)


async def lecturer_pool(session: AsyncSession, *, unit_path: str, first: date | None, last: date | None) -> list[LecturerStats]:
    """Everyone who lectured under a unit in the period, with their sessions and attendees, most active first."""
    ids = _in_period(select(Lecture.id), under_path=unit_path, first=first, last=last)
    rows = await session.execute(
        select(LectureLecturer.person_id, func.max(LectureLecturer.name), func.count(Lecture.id), func.coalesce(func.sum(Lecture.attendees), 0))
        .join(Lecture, Lecture.id == LectureLecturer.lecture_id)
        .where(Lecture.id.in_(ids))
        .group_by(LectureLecturer.person_id)
    )
    stats = [LecturerStats(person_id=p, name=n, sessions=int(s), attendees=int(a)) for p, n, s, a in rows.all()]
    return sorted(stats, key=lambda s: (-s.sessions, -s.attendees, s.person_id))
