"""Deed use cases: turn dispatch's and legal's events into ledger entries, once per deed.

A deed may arrive before the member it names (topics are not ordered with each other): it
waits, and is credited when the member's MemberJoined arrives.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import structlog
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.access import require_auditor
from points_svc.deeds.models import Deed, DeedStatus
from points_svc.ledger.models import SourceKind
from points_svc.ledger.service import record_deed
from points_svc.members.service import active_member_for_person
from points_svc.rules.models import Trigger
from points_svc.rules.service import rule_for_trigger
from shared.events.dispatch import LectureHeld, OrderCompleted
from shared.events.envelope import Envelope
from shared.events.legal import CaseConcluded
from shared.identity import Identity
from shared.ids import new_id
from shared.problems import Problem
from shared.scope import in_subtree, scope_condition

log = structlog.get_logger("points_svc.deeds")

RECORDER = "points-svc.deeds"


async def _credit(session: AsyncSession, deed: Deed) -> None:
    """Try to turn a deed into an entry; leave the deed's status saying what happened."""
    deed.updated_at = datetime.now(UTC)
    member = await active_member_for_person(session, deed.person_id)
    if member is None:
        deed.status, deed.detail = DeedStatus.WAITING_MEMBER, "the person is not on the party member roster (yet)"
        return
    rule = await rule_for_trigger(
        session, town_unit_id=member.town_unit_id, trigger=deed.trigger, value=deed.trigger_value, on=deed.occurred_on
    )
    if rule is None:
        deed.status, deed.detail = DeedStatus.NO_RULE, f"no active {deed.trigger.value} rule in the member's town"
        log.info("deed.no_rule", deed_id=deed.id, person_id=deed.person_id, trigger=deed.trigger.value)
        return
    try:
        # record_deed checks everything before it writes, so a refusal leaves the session clean.
        entry = await record_deed(
            session, member=member, rule=rule, occurred_on=deed.occurred_on, description=deed.description,
            evidence=[], recorded_by=RECORDER, source_kind=deed.source_kind, source_ref=deed.source_ref,
            source_event_id=deed.event_id,
        )
    except Problem as exc:
        deed.status, deed.detail = DeedStatus.REJECTED, f"{exc.code}: {exc.detail}"[:500]
        log.info("deed.rejected", deed_id=deed.id, code=exc.code)
        return
    deed.status, deed.detail, deed.entry_id = DeedStatus.CREDITED, None, entry.id


async def receive_deed(
    session: AsyncSession, *, envelope: Envelope, person_id: str, trigger: Trigger, trigger_value: str | None,
    source_kind: SourceKind, source_ref: str, unit_path: str, occurred_on: date, description: str,
) -> None:
    """Keep the deed once per (event id, person) and credit it if its member is known."""
    known = await session.scalar(select(Deed.id).where(Deed.event_id == envelope.id, Deed.person_id == person_id))
    if known is not None:
        return  # the same deed delivered again, perhaps through another consumer: one entry only
    now = datetime.now(UTC)
    deed = Deed(
        id=new_id(), event_id=envelope.id, event_type=envelope.type, person_id=person_id, trigger=trigger,
        trigger_value=trigger_value, source_kind=source_kind, source_ref=source_ref, unit_path=unit_path,
        occurred_on=occurred_on, description=description[:500], status=DeedStatus.WAITING_MEMBER, received_at=now, updated_at=now,
    )
    session.add(deed)
    await session.flush()
    await _credit(session, deed)


async def on_order_completed(session: AsyncSession, event: OrderCompleted, envelope: Envelope) -> None:
    """A party member served a resident's order: a service deed."""
    if not event.served_by_party_member or not event.served_by_person_id:
        return
    await receive_deed(
        session, envelope=envelope, person_id=event.served_by_person_id, trigger=Trigger.ORDER_COMPLETED,
        trigger_value=event.service_type_code, source_kind=SourceKind.ORDER_COMPLETED, source_ref=event.order_id,
        unit_path=event.unit_path, occurred_on=event.occurred_on, description=f"服务工单 {event.number} 办结",
    )


async def on_lecture_held(session: AsyncSession, event: LectureHeld, envelope: Envelope) -> None:
    """A micro lecture took place: a deed for each lecturer who is a party member."""
    for person_id in dict.fromkeys(event.lecturer_person_ids):
        await receive_deed(
            session, envelope=envelope, person_id=person_id, trigger=Trigger.LECTURE_HELD, trigger_value=None,
            source_kind=SourceKind.LECTURE_HELD, source_ref=event.lecture_id, unit_path=event.unit_path,
            occurred_on=event.held_on, description=f"微讲堂: {event.theme}",
        )


async def on_case_concluded(session: AsyncSession, event: CaseConcluded, envelope: Envelope) -> None:
    """A mediation ended: a deed for each party-member mediator who took part."""
    people = [m.person_id for m in event.mediators if m.party_member and m.person_id]
    for person_id in dict.fromkeys(people):
        await receive_deed(
            session, envelope=envelope, person_id=person_id, trigger=Trigger.MEDIATION_CONCLUDED, trigger_value=event.category,
            source_kind=SourceKind.MEDIATION_CONCLUDED, source_ref=event.case_id, unit_path=event.unit_path,
            occurred_on=event.concluded_on, description=f"参与调解 {event.number}",
        )


async def credit_waiting(session: AsyncSession, *, person_id: str) -> None:
    """A member joined: credit the deeds that were waiting for them, oldest first."""
    waiting = (
        await session.execute(
            select(Deed).where(Deed.person_id == person_id, Deed.status == DeedStatus.WAITING_MEMBER).order_by(Deed.occurred_on, Deed.id)
        )
    ).scalars().all()
    for deed in waiting:
        await _credit(session, deed)


def list_deeds_query(
    *, identity: Identity, scope_path: str | None, under_path: str | None, status: DeedStatus | None, person_id: str | None,
) -> Select:
    """Deeds received for places in scope, newest first."""
    require_auditor(identity)
    statement = select(Deed).where(scope_condition(Deed.unit_path, identity, scope_path))
    if under_path is not None:
        statement = statement.where(in_subtree(Deed.unit_path, under_path))
    if status is not None:
        statement = statement.where(Deed.status == status)
    if person_id is not None:
        statement = statement.where(Deed.person_id == person_id)
    return statement.order_by(Deed.id.desc())
