"""Adviser use cases: register advisers, assign them to villages, record consultations and legal affairs."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.access import require_legal_admin, require_legal_staff, sees_personal_data
from legal_svc.advisers.models import (
    Adviser,
    AdviserAssignment,
    AdviserCreate,
    AffairKind,
    AffairStatus,
    AssignmentCreate,
    AssignmentPublic,
    Consultation,
    ConsultationCategory,
    ConsultationCreate,
    ConsultationFollowUp,
    ConsultationPublic,
    LegalAffair,
    LegalAffairClose,
    LegalAffairCreate,
)
from legal_svc.units import load_in_scope, record_in_scope, scoped, unit_for_write, units_table, with_unit_scope
from shared.database import Database
from shared.events.legal import ConsultationRecorded, LegalAffairClosed
from shared.identity import Identity
from shared.ids import new_id
from shared.outbox import emit
from shared.personal_data import mask_name, mask_phone
from shared.problems import conflict, not_found, unprocessable
from shared.scope import fetch_in_scope, town_of

# --- advisers ---------------------------------------------------------------------------------


async def create_adviser(session: AsyncSession, *, identity: Identity, data: AdviserCreate) -> Adviser:
    """Register a legal adviser serving a unit in the caller's scope."""
    require_legal_admin(identity)
    await unit_for_write(session, identity, data.unit_id)
    adviser = Adviser(id=new_id(), created_at=datetime.now(UTC), **data.model_dump())
    session.add(adviser)
    return adviser


async def get_adviser(session: AsyncSession, *, identity: Identity, adviser_id: str) -> Adviser:
    """An adviser whose unit lies in the caller's scope, else 404."""
    return await load_in_scope(session, identity, Adviser, adviser_id, "adviser")


async def _active_adviser(session: AsyncSession, adviser_id: str, on: date, field: str) -> Adviser:
    # Advisers serve villages outside their own unit, so linking checks existence, not the caller's scope.
    adviser = await session.get(Adviser, adviser_id)
    if adviser is None:
        raise unprocessable("no such adviser", code="unknown_adviser", loc=["body", field])
    if adviser.retired_on is not None and adviser.retired_on <= on:
        raise unprocessable("the adviser had retired by then", code="adviser_retired", loc=["body", field])
    return adviser


async def retire_adviser(session: AsyncSession, *, identity: Identity, adviser_id: str, retired_on: date) -> Adviser:
    """Retire an adviser from a date; their history stays."""
    require_legal_admin(identity)
    adviser = await get_adviser(session, identity=identity, adviser_id=adviser_id)
    adviser.retired_on = retired_on
    return adviser


async def list_advisers_query(session: AsyncSession, *, identity: Identity, under: str | None, active_on: date | None) -> Select:
    """Advisers whose unit lies in scope, by name."""
    statement = await scoped(session, select(Adviser), Adviser.unit_id, identity, under)
    if active_on is not None:
        statement = statement.where((Adviser.retired_on.is_(None)) | (Adviser.retired_on > active_on))
    return statement.order_by(Adviser.name, Adviser.id)


# --- assignments ------------------------------------------------------------------------------


def assignment_public(assignment: AdviserAssignment, adviser_name: str, unit_name: str) -> AssignmentPublic:
    """The API shape of an assignment."""
    return AssignmentPublic(
        id=assignment.id,
        adviser_id=assignment.adviser_id,
        adviser_name=adviser_name,
        unit_id=assignment.unit_id,
        unit_name=unit_name,
        starts_on=assignment.starts_on,
        ends_on=assignment.ends_on,
        duty_weekdays=[int(d) for d in assignment.duty_days],
    )


async def assign_adviser(session: AsyncSession, *, identity: Identity, adviser_id: str, data: AssignmentCreate) -> AssignmentPublic:
    """Assign an adviser to a village for a dated period; overlapping assignments to the same village answer 409."""
    require_legal_admin(identity)
    adviser = await get_adviser(session, identity=identity, adviser_id=adviser_id)
    unit = await unit_for_write(session, identity, data.unit_id)
    if unit.level != "village":
        raise unprocessable("advisers are assigned to villages", code="invalid_level", loc=["body", "unit_id"])
    far_future = date.max
    overlapping = await session.scalar(
        select(AdviserAssignment.id).where(
            AdviserAssignment.adviser_id == adviser.id,
            AdviserAssignment.unit_id == unit.id,
            AdviserAssignment.starts_on <= (data.ends_on or far_future),
            (AdviserAssignment.ends_on.is_(None)) | (AdviserAssignment.ends_on >= data.starts_on),
        )
    )
    if overlapping is not None:
        raise conflict("the adviser is already assigned to this village in that period", code="overlapping_assignment")
    assignment = AdviserAssignment(
        id=new_id(),
        adviser_id=adviser.id,
        unit_id=unit.id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        duty_days="".join(str(d) for d in data.duty_weekdays),
    )
    session.add(assignment)
    return assignment_public(assignment, adviser.name, unit.name)


async def end_assignment(session: AsyncSession, *, identity: Identity, assignment_id: str, ends_on: date) -> AssignmentPublic:
    """End an assignment on a date (not before it started)."""
    require_legal_admin(identity)
    assignment = await session.get(AdviserAssignment, assignment_id)
    if assignment is None:
        raise not_found("assignment")
    unit = await record_in_scope(session, identity, assignment.unit_id, "assignment")
    if ends_on < assignment.starts_on:
        raise unprocessable("ends_on is before the assignment started", loc=["body", "ends_on"])
    assignment.ends_on = ends_on
    adviser = await session.get(Adviser, assignment.adviser_id)
    return assignment_public(assignment, adviser.name, unit.name)


async def list_assignments_query(
    session: AsyncSession, *, identity: Identity, under: str | None, adviser_id: str | None, active_on: date | None, on_duty: date | None
) -> Select:
    """Assignments to villages in scope; `on_duty` keeps those whose adviser is on duty that day."""
    statement = select(AdviserAssignment, Adviser.name, units_table.c.name).join(Adviser, Adviser.id == AdviserAssignment.adviser_id)
    statement = await scoped(session, statement, AdviserAssignment.unit_id, identity, under)
    if adviser_id is not None:
        statement = statement.where(AdviserAssignment.adviser_id == adviser_id)
    day = on_duty or active_on
    if day is not None:
        statement = statement.where(
            AdviserAssignment.starts_on <= day, (AdviserAssignment.ends_on.is_(None)) | (AdviserAssignment.ends_on >= day)
        )
    if on_duty is not None:
        statement = statement.where(AdviserAssignment.duty_days.contains(str(on_duty.isoweekday())))
    return statement.order_by(units_table.c.path, AdviserAssignment.starts_on, AdviserAssignment.id)


# --- consultations ----------------------------------------------------------------------------


def consultation_public(consultation: Consultation | Row, *, full: bool) -> ConsultationPublic:
    """The API shape of a consultation (a loaded record or a row of its columns); the asker is masked unless `full`."""
    data = consultation._asdict() if isinstance(consultation, Row) else consultation.model_dump()
    if not full:
        data["asker_name"] = mask_name(consultation.asker_name)
        data["asker_phone"] = mask_phone(consultation.asker_phone)
    return ConsultationPublic(masked=not full, **data)


async def record_consultation(session: AsyncSession, *, identity: Identity, data: ConsultationCreate) -> Consultation:
    """Record an answered consultation; emit ConsultationRecorded (without the asker)."""
    require_legal_staff(identity)
    unit = await unit_for_write(session, identity, data.unit_id)
    adviser = await _active_adviser(session, data.adviser_id, data.asked_on, "adviser_id")
    consultation = Consultation(
        id=new_id(), recorded_by=identity.subject, created_at=datetime.now(UTC), town_unit_id=town_of(unit.path),
        **data.model_dump(),
    )
    session.add(consultation)
    emit(
        session,
        ConsultationRecorded(
            consultation_id=consultation.id,
            adviser_id=adviser.id,
            unit_id=unit.id,
            unit_path=unit.path,
            category=data.category.value,
            occurred_on=data.asked_on,
        ),
    )
    return consultation


CONSULTATION_IN_SCOPE = with_unit_scope(Consultation.__table__)


async def read_consultation(db: Database, *, identity: Identity, consultation_id: str) -> ConsultationPublic:
    """A consultation in scope, masked as this caller must see it, else 404 (one round trip)."""
    row = await fetch_in_scope(db, CONSULTATION_IN_SCOPE, identity, path="unit_path", record="consultation", record_id=consultation_id)
    return consultation_public(row, full=consultation_full_for(identity))


async def get_consultation(session: AsyncSession, *, identity: Identity, consultation_id: str) -> Consultation:
    """A consultation in scope, else 404."""
    return await load_in_scope(session, identity, Consultation, consultation_id, "consultation")


async def follow_up_consultation(
    session: AsyncSession, *, identity: Identity, consultation_id: str, data: ConsultationFollowUp
) -> Consultation:
    """Record the follow-up of a consultation."""
    require_legal_staff(identity)
    consultation = await get_consultation(session, identity=identity, consultation_id=consultation_id)
    if data.followed_up_on < consultation.asked_on:
        raise unprocessable("the follow-up is dated before the consultation", loc=["body", "followed_up_on"])
    consultation.followed_up_on = data.followed_up_on
    consultation.follow_up_note = data.note
    consultation.follow_up_needed = False
    return consultation


async def list_consultations_query(
    session: AsyncSession,
    *,
    identity: Identity,
    under: str | None,
    adviser_id: str | None,
    category: ConsultationCategory | None,
    start: date | None,
    end: date | None,
    follow_up_pending: bool | None,
) -> Select:
    """Consultations in scope, newest first."""
    statement = await scoped(session, select(Consultation), Consultation.unit_id, identity, under)
    if adviser_id is not None:
        statement = statement.where(Consultation.adviser_id == adviser_id)
    if category is not None:
        statement = statement.where(Consultation.category == category)
    if start is not None:
        statement = statement.where(Consultation.asked_on >= start)
    if end is not None:
        statement = statement.where(Consultation.asked_on <= end)
    if follow_up_pending is not None:
        statement = statement.where(Consultation.follow_up_needed.is_(follow_up_pending))
    return statement.order_by(Consultation.asked_on.desc(), Consultation.id.desc())


def consultation_full_for(identity: Identity) -> bool:
    """Whether a single-consultation read shows the asker unmasked."""
    return sees_personal_data(identity)


# --- legal affairs ----------------------------------------------------------------------------


async def open_affair(session: AsyncSession, *, identity: Identity, data: LegalAffairCreate) -> LegalAffair:
    """Open a legal affair handled by an adviser."""
    require_legal_staff(identity)
    unit = await unit_for_write(session, identity, data.unit_id)
    await _active_adviser(session, data.adviser_id, data.opened_on, "adviser_id")
    affair = LegalAffair(
        id=new_id(), status=AffairStatus.OPEN, created_at=datetime.now(UTC), recovered_fen=0, town_unit_id=town_of(unit.path),
        **data.model_dump(),
    )
    session.add(affair)
    return affair


async def get_affair(session: AsyncSession, *, identity: Identity, affair_id: str) -> LegalAffair:
    """A legal affair in scope, else 404."""
    return await load_in_scope(session, identity, LegalAffair, affair_id, "legal affair")


async def close_affair(session: AsyncSession, *, identity: Identity, affair_id: str, data: LegalAffairClose) -> LegalAffair:
    """Close a legal affair with its outcome and amount recovered; emit LegalAffairClosed."""
    require_legal_staff(identity)
    affair = await get_affair(session, identity=identity, affair_id=affair_id)
    if affair.status == AffairStatus.CLOSED:
        raise conflict("the legal affair is already closed", code="already_closed")
    if data.closed_on < affair.opened_on:
        raise unprocessable("closed_on is before the affair was opened", loc=["body", "closed_on"])
    unit = await record_in_scope(session, identity, affair.unit_id, "legal affair")
    affair.status = AffairStatus.CLOSED
    affair.outcome, affair.closed_on, affair.recovered_fen = data.outcome.strip(), data.closed_on, data.recovered_fen
    emit(
        session,
        LegalAffairClosed(
            affair_id=affair.id,
            adviser_id=affair.adviser_id,
            unit_id=unit.id,
            unit_path=unit.path,
            kind=affair.kind.value,
            outcome=affair.outcome,
            closed_on=data.closed_on,
        ),
    )
    return affair


async def list_affairs_query(
    session: AsyncSession,
    *,
    identity: Identity,
    under: str | None,
    adviser_id: str | None,
    kind: AffairKind | None,
    status: AffairStatus | None,
    start: date | None,
    end: date | None,
) -> Select:
    """Legal affairs in scope opened in the period, newest first."""
    statement = await scoped(session, select(LegalAffair), LegalAffair.unit_id, identity, under)
    if adviser_id is not None:
        statement = statement.where(LegalAffair.adviser_id == adviser_id)
    if kind is not None:
        statement = statement.where(LegalAffair.kind == kind)
    if status is not None:
        statement = statement.where(LegalAffair.status == status)
    if start is not None:
        statement = statement.where(LegalAffair.opened_on >= start)
    if end is not None:
        statement = statement.where(LegalAffair.opened_on <= end)
    return statement.order_by(LegalAffair.opened_on.desc(), LegalAffair.id.desc())
