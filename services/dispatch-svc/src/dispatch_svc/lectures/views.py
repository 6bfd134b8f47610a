"""HTTP endpoints for micro lectures under `/api/v1/dispatch/lectures`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from dispatch_svc.clock import ClockDep
from dispatch_svc.db import grid, platform
from dispatch_svc.lectures import service
from dispatch_svc.lectures.models import (
    Lecture,
    LectureCreate,
    LectureLecturer,
    LecturePublic,
    LecturerPublic,
    LecturerStats,
    LectureSummary,
)
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, page_of
from shared.problems import unprocessable
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/dispatch/lectures", tags=["micro lectures"])

FromQuery = Annotated[date | None, Query(alias="from", description="first day, inclusive (Asia/Shanghai)")]
ToQuery = Annotated[date | None, Query(description="last day, inclusive (Asia/Shanghai)")]


def public(lecture: Lecture, lecturers: list[LectureLecturer]) -> LecturePublic:
    """The API shape of a session."""
    return LecturePublic(
        **lecture.model_dump(exclude={"roster"}), roster=lecture.roster,
        lecturers=[LecturerPublic(person_id=l.person_id, name=l.name) for l in lecturers],
    )


def _period(first: date | None, last: date | None) -> None:
    if first and last and first > last:
        raise unprocessable("from is after to", loc=["query", "from"])


@router.post("", status_code=201, response_model=LecturePublic, summary="Record a micro lecture")
async def create_lecture(body: LectureCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep, clock: ClockDep):
    """Record a session that was held: lecturers (people of the grid registry), topic, place, time, head count and optional roster.

    Emits LectureHeld (points-svc credits lecturers who are party members).
    """

    async def create(session):
        lecture, lecturers = await service.create_lecture(session, identity=identity, data=body, now=clock.now())
        return public(lecture, lecturers)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("", response_model=Page[LecturePublic], summary="List micro lectures")
async def list_lectures(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(max_length=26, description="held in this unit's subtree")] = None,
    from_: FromQuery = None,
    to: ToQuery = None,
    lecturer_person_id: Annotated[str | None, Query(max_length=26)] = None,
) -> Page[LecturePublic]:
    """Sessions in the caller's scope, newest first."""
    _period(from_, to)
    subtree = await grid.list_subtree(db, identity, under)  # the caller's scope, or `under` inside it
    shape, params = service.list_lectures_query(subtree=subtree, first=from_, last=to, lecturer_person_id=lecturer_person_id)
    rows, total = await service.lectures_page(shape).fetch(db, page, params)
    return page_of(LecturePublic, service.lectures_of(rows), total, page)


@router.get("/summary", response_model=LectureSummary, summary="Sessions and attendees under a unit")
async def lecture_summary(db: DatabaseDep, identity: CurrentIdentity, unit_id: Annotated[str, Query(max_length=26)], from_: FromQuery = None, to: ToQuery = None) -> LectureSummary:
    """Sessions, attendees and distinct lecturers under a unit between two days (inclusive)."""
    _period(from_, to)
    async with db.session() as session:
        unit = await grid.get_in_scope(session, identity, unit_id)
        sessions, attendees, lecturers = await service.count(session, unit_path=unit.path, first=from_, last=to)
    return LectureSummary(unit_id=unit.id, from_=from_, to=to, sessions=sessions, attendees=attendees, lecturers=lecturers)


@router.get("/lecturers", response_model=list[LecturerStats], summary="The lecturer pool under a unit")
async def lecturer_pool(db: DatabaseDep, identity: CurrentIdentity, unit_id: Annotated[str, Query(max_length=26)], from_: FromQuery = None, to: ToQuery = None) -> list[LecturerStats]:
    """Everyone who lectured under the unit in the period, with sessions and attendees, most active first."""
    _period(from_, to)
    async with db.session() as session:
        unit = await grid.get_in_scope(session, identity, unit_id)
        return await service.lecturer_pool(session, unit_path=unit.path, first=from_, last=to)


@router.get("/{lecture_id}", response_model=LecturePublic, summary="Read a micro lecture")
async def read_lecture(lecture_id: str, db: DatabaseDep, identity: CurrentIdentity) -> LecturePublic:
    """One session; 404 outside the caller's scope."""
    async with db.session() as session:
        lecture = await service.get_lecture(session, identity=identity, lecture_id=lecture_id)
        lecturers = await service.lecturers_of(session, [lecture.id])
    return public(lecture, lecturers[lecture.id])
