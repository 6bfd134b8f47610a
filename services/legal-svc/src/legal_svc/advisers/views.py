"""HTTP endpoints for advisers, assignments, consultations and legal affairs under `/api/v1/legal`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from legal_svc.advisers import service
from legal_svc.advisers.models import (
    AdviserCreate,
    AdviserPublic,
    AffairKind,
    AffairStatus,
    AssignmentCreate,
    AssignmentEnd,
    AssignmentPublic,
    ConsultationCategory,
    ConsultationCreate,
    ConsultationFollowUp,
    ConsultationPublic,
    LegalAffairClose,
    LegalAffairCreate,
    LegalAffairPublic,
)
from legal_svc.db import platform
from legal_svc.listing import page_of
from legal_svc.periods import PeriodDep
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate, paginate_rows
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/legal", tags=["advisers"])

Under = Annotated[str | None, Query(max_length=26, description="only records in this unit's subtree")]


class AdviserRetire(BaseModel):
    """Retire an adviser from a date."""

    retired_on: date


@router.post("/advisers", status_code=201, response_model=AdviserPublic, summary="Register a legal adviser")
async def create_adviser(body: AdviserCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Register an adviser serving a unit (usually the town); town, county and platform admins only."""

    async def create(session):
        adviser = await service.create_adviser(session, identity=identity, data=body)
        return AdviserPublic.model_validate(adviser, from_attributes=True)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/advisers", response_model=Page[AdviserPublic], summary="List legal advisers")
async def list_advisers(
    db: DatabaseDep, identity: CurrentIdentity, page: PageDep, under: Under = None, active_on: date | None = None
) -> Page[AdviserPublic]:
    """Advisers whose unit lies in scope, by name; `active_on` hides those retired by that day."""
    async with db.session() as session:
        statement = await service.list_advisers_query(session, identity=identity, under=under, active_on=active_on)
        rows, total = await paginate(session, statement, page)
    return page_of([AdviserPublic.model_validate(a, from_attributes=True) for a in rows], total, page)


@router.get("/advisers/{adviser_id}", response_model=AdviserPublic, summary="Read a legal adviser")
async def read_adviser(adviser_id: str, db: DatabaseDep, identity: CurrentIdentity) -> AdviserPublic:
    """One adviser; 404 when missing or outside scope."""
    async with db.session() as session:
        adviser = await service.get_adviser(session, identity=identity, adviser_id=adviser_id)
    return AdviserPublic.model_validate(adviser, from_attributes=True)


@router.post("/advisers/{adviser_id}/retire", response_model=AdviserPublic, summary="Retire a legal adviser")
async def retire_adviser(adviser_id: str, body: AdviserRetire, db: DatabaseDep, identity: CurrentIdentity) -> AdviserPublic:
    """Retire an adviser from a date; consultations after it are refused."""
    async with db.transaction() as session:
        adviser = await service.retire_adviser(session, identity=identity, adviser_id=adviser_id, retired_on=body.retired_on)
    return AdviserPublic.model_validate(adviser, from_attributes=True)


@router.post(
    "/advisers/{adviser_id}/assignments", status_code=201, response_model=AssignmentPublic, summary="Assign an adviser to a village"
)
async def assign_adviser(
    adviser_id: str, body: AssignmentCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep
):
    """A dated assignment to a village with duty weekdays; an overlapping one answers 409 `overlapping_assignment`."""

    async def create(session):
        return await service.assign_adviser(session, identity=identity, adviser_id=adviser_id, data=body)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/adviser-assignments", response_model=Page[AssignmentPublic], summary="List adviser assignments")
async def list_assignments(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Under = None,
    adviser_id: str | None = None,
    active_on: Annotated[date | None, Query(description="assignments running on this day")] = None,
    on_duty: Annotated[date | None, Query(description="advisers on duty in their village on this day")] = None,
) -> Page[AssignmentPublic]:
    """Assignments to villages in scope, by village then start date."""
    async with db.session() as session:
        statement = await service.list_assignments_query(
            session, identity=identity, under=under, adviser_id=adviser_id, active_on=active_on, on_duty=on_duty
        )
        rows, total = await paginate_rows(session, statement, page)
    return page_of([service.assignment_public(a, name, unit) for a, name, unit in rows], total, page)


@router.post("/adviser-assignments/{assignment_id}/end", response_model=AssignmentPublic, summary="End an adviser assignment")
async def end_assignment(assignment_id: str, body: AssignmentEnd, db: DatabaseDep, identity: CurrentIdentity) -> AssignmentPublic:
    """End an assignment on a date."""
    async with db.transaction() as session:
        return await service.end_assignment(session, identity=identity, assignment_id=assignment_id, ends_on=body.ends_on)


@router.post("/consultations", status_code=201, response_model=ConsultationPublic, summary="Record a consultation")
async def record_consultation(body: ConsultationCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Record a consultation an adviser answered; emits `consultation.recorded` (without the asker).

    The answer shows the asker masked, like every list.
    """

    async def create(session):
        consultation = await service.record_consultation(session, identity=identity, data=body)
        return service.consultation_public(consultation, full=False)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/consultations", response_model=Page[ConsultationPublic], summary="List consultations")
async def list_consultations(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    period: PeriodDep,
    under: Under = None,
    adviser_id: str | None = None,
    category: ConsultationCategory | None = None,
    follow_up_pending: bool | None = None,
) -> Page[ConsultationPublic]:
    """Consultations in scope asked in the period, newest first; askers are always masked here."""
    async with db.session() as session:
        statement = await service.list_consultations_query(
            session,
            identity=identity,
            under=under,
            adviser_id=adviser_id,
            category=category,
            start=period.start,
            end=period.end,
            follow_up_pending=follow_up_pending,
        )
        rows, total = await paginate(session, statement, page)
    return page_of([service.consultation_public(c, full=False) for c in rows], total, page)


@router.get("/consultations/{consultation_id}", response_model=ConsultationPublic, summary="Read a consultation")
async def read_consultation(consultation_id: str, db: DatabaseDep, identity: CurrentIdentity) -> ConsultationPublic:
    """One consultation; the asker is shown whole only to roles that handle legal work in person."""
    return await service.read_consultation(db, identity=identity, consultation_id=consultation_id)


@router.post("/consultations/{consultation_id}/follow-up", response_model=ConsultationPublic, summary="Follow up a consultation")
async def follow_up_consultation(
    consultation_id: str, body: ConsultationFollowUp, db: DatabaseDep, identity: CurrentIdentity
) -> ConsultationPublic:
    """Record the follow-up visit or call of a consultation."""
    async with db.transaction() as session:
        consultation = await service.follow_up_consultation(session, identity=identity, consultation_id=consultation_id, data=body)
    return service.consultation_public(consultation, full=False)


@router.post("/legal-affairs", status_code=201, response_model=LegalAffairPublic, summary="Open a legal affair")
async def open_affair(body: LegalAffairCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Open a contract review, litigation support, document drafting … handled by an adviser."""

    async def create(session):
        affair = await service.open_affair(session, identity=identity, data=body)
        return LegalAffairPublic.model_validate(affair, from_attributes=True)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/legal-affairs", response_model=Page[LegalAffairPublic], summary="List legal affairs")
async def list_affairs(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    period: PeriodDep,
    under: Under = None,
    adviser_id: str | None = None,
    kind: AffairKind | None = None,
    status: AffairStatus | None = None,
) -> Page[LegalAffairPublic]:
    """Legal affairs in scope opened in the period, newest first."""
    async with db.session() as session:
        statement = await service.list_affairs_query(
            session, identity=identity, under=under, adviser_id=adviser_id, kind=kind, status=status,
            start=period.start, end=period.end,
        )
        rows, total = await paginate(session, statement, page)
    return page_of([LegalAffairPublic.model_validate(a, from_attributes=True) for a in rows], total, page)


@router.get("/legal-affairs/{affair_id}", response_model=LegalAffairPublic, summary="Read a legal affair")
async def read_affair(affair_id: str, db: DatabaseDep, identity: CurrentIdentity) -> LegalAffairPublic:
    """One legal affair; 404 when missing or outside scope."""
    async with db.session() as session:
        affair = await service.get_affair(session, identity=identity, affair_id=affair_id)
    return LegalAffairPublic.model_validate(affair, from_attributes=True)


@router.post("/legal-affairs/{affair_id}/close", response_model=LegalAffairPublic, summary="Close a legal affair")
async def close_affair(affair_id: str, body: LegalAffairClose, db: DatabaseDep, identity: CurrentIdentity) -> LegalAffairPublic:
    """Close with the outcome and the amount recovered (fen); emits `legal_affair.closed`. Closing twice answers 409."""
    async with db.transaction() as session:
        affair = await service.close_affair(session, identity=identity, affair_id=affair_id, data=body)
    return LegalAffairPublic.model_validate(affair, from_attributes=True)
