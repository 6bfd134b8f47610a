"""Case use cases: register with a gap-free number, run the mediation lifecycle, read (audited) and list (masked)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.access import require_auditor, require_case_handler, sees_personal_data
from legal_svc.advisers.models import Adviser
from legal_svc.cases.models import (
    JUDICIAL_CONFIRMATION_DAYS,
    AcceptIn,
    Affiliation,
    AgreementIn,
    Case,
    CaseCategory,
    CaseCounter,
    CaseCreate,
    CaseFollowUp,
    CaseFull,
    CaseMediator,
    CaseParty,
    CaseRead,
    CaseSession,
    CaseStatus,
    CaseSummary,
    CaseUnit,
    CloseIn,
    FailureIn,
    FollowUpIn,
    FollowUpPublic,
    JudicialConfirmationIn,
    MediatorIn,
    MediatorPublic,
    PartyMasked,
    PartyPublic,
    RiskLevel,
    RiskUpdate,
    SessionIn,
    SessionPublic,
)
from legal_svc.db import grid
from legal_svc.roster.handlers import is_party_member
from legal_svc.units import load_in_scope, scoped, unit_for_write, units_table
from shared.database import dialect_insert
from shared.events.legal import CaseConcluded, CaseRegistered, MediatorRef
from shared.grid_replica import GridUnit
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import SHANGHAI, today
from shared.outbox import emit
from shared.pagination import PagedQuery
from shared.personal_data import mask_name
from shared.problems import conflict, unprocessable
from shared.scope import in_named_subtree, path_ids, town_of

# Town names drop their administrative suffix in case numbers: 禹王镇 → 禹王调〔2026〕12号.
_TOWN_SUFFIXES = ("街道办事处", "街道", "镇", "乡")


def case_number(town_name: str, year: int, seq: int) -> str:
    """The human case number, e.g. 禹王调〔2026〕12号."""
    short = town_name
    for suffix in _TOWN_SUFFIXES:
        if short.endswith(suffix) and len(short) > len(suffix):
            short = short[: -len(suffix)]
            break
    return f"{short}调〔{year}〕{seq}号"


async def _town_of(session: AsyncSession, unit: GridUnit) -> GridUnit:
    ids = path_ids(unit.path)
    row = (
        await session.execute(select(units_table).where(units_table.c.id.in_(ids), units_table.c.level == "town"))
    ).mappings().first()
    if row is None:
        raise unprocessable("cases are registered at a town or a unit below one", code="invalid_level", loc=["body", "unit_id"])
    return GridUnit.model_validate(dict(row))


async def _next_seq(session: AsyncSession, town_id: str, year: int) -> int:
    """Take the next number of (town, year) in this transaction: an atomic upsert, so no gaps and no duplicates.

    On PostgreSQL the row lock holds concurrent registrations until this one commits; a rollback
    gives the number back. SQLite takes one writer at a time.
    """
    insert = dialect_insert(session)
    table = CaseCounter.__table__
    statement = (
        insert(table)
        .values(town_id=town_id, year=year, last_seq=1)
        .on_conflict_do_update(index_elements=[table.c.town_id, table.c.year], set_={"last_seq": table.c.last_seq + 1})
        .returning(table.c.last_seq)
    )
    return int((await session.execute(statement)).scalar_one())


async def _check_mediator(session: AsyncSession, mediator: MediatorIn, loc: list) -> None:
    if mediator.adviser_id is not None and await session.get(Adviser, mediator.adviser_id) is None:
        raise unprocessable("no such adviser", code="unknown_adviser", loc=[*loc, "adviser_id"])


def _mediator_row(case_id: str, mediator: MediatorIn) -> CaseMediator:
    return CaseMediator(id=new_id(), case_id=case_id, added_at=datetime.now(UTC), **mediator.model_dump())


async def register_case(session: AsyncSession, *, identity: Identity, data: CaseCreate) -> Case:
    """Register a dispute as a case numbered per town and year; emit CaseRegistered (without parties)."""
    require_case_handler(identity)
    unit = await unit_for_write(session, identity, data.unit_id)
    town = await _town_of(session, unit)
    for index, unit_id in enumerate(data.cooperating_unit_ids):
        # A joint mediation may bring in a neighbouring unit outside the caller's scope: it must only exist.
        if unit_id == unit.id or await grid.get(session, unit_id) is None:
            raise unprocessable("unknown or repeated cooperating unit", code="unknown_unit", loc=["body", "cooperating_unit_ids", index])
    for index, mediator in enumerate(data.mediators):
        await _check_mediator(session, mediator, ["body", "mediators", index])
    registered_on = today()
    reported_on = data.reported_on or registered_on
    if reported_on > registered_on:
        raise unprocessable("reported_on is in the future", loc=["body", "reported_on"])
    seq = await _next_seq(session, town.id, registered_on.year)
    now = datetime.now(UTC)
    case = Case(
        id=new_id(),
        number=case_number(town.name, registered_on.year, seq),
        town_id=town.id,
        year=registered_on.year,
        seq=seq,
        unit_id=unit.id,
        town_unit_id=town_of(unit.path),
        category=data.category,
        facts=data.facts,
        points_in_dispute=data.points_in_dispute,
        amount_in_dispute_fen=data.amount_in_dispute_fen,
        status=CaseStatus.REGISTERED,
        risk_level=RiskLevel.NORMAL,
        reported_on=reported_on,
        registered_on=registered_on,
        recovered_fen=0,
        created_by=identity.subject,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    await session.flush()
    for position, party in enumerate(data.parties):
        session.add(CaseParty(id=new_id(), case_id=case.id, position=position, **party.model_dump()))
    for mediator in data.mediators:
        session.add(_mediator_row(case.id, mediator))
    for unit_id in dict.fromkeys(data.cooperating_unit_ids):
        session.add(CaseUnit(case_id=case.id, unit_id=unit_id))
    emit(
        session,
        CaseRegistered(
            case_id=case.id,
            number=case.number,
            category=case.category.value,
            unit_id=unit.id,
            unit_path=unit.path,
            registered_on=registered_on,
        ),
    )
    return case


async def get_case(session: AsyncSession, *, identity: Identity, case_id: str) -> Case:
    """A case whose unit lies in the caller's scope, else 404 (its existence does not leak)."""
    return await load_in_scope(session, identity, Case, case_id, "case")


def _outcome(case: Case) -> str | None:
    if case.agreement_signed_on is not None:
        return "agreed"
    if case.failure_reason is not None:
        return "failed"
    return None


async def summaries(session: AsyncSession, cases: Sequence[Case]) -> list[CaseSummary]:
    """Masked summaries of cases, with their parties and mediators loaded in two queries."""
    ids = [c.id for c in cases]
    parties: dict[str, list[CaseParty]] = defaultdict(list)
    affiliations: dict[str, list[Affiliation]] = defaultdict(list)
    cooperating: set[str] = set()
    if ids:
        for party in (await session.execute(select(CaseParty).where(CaseParty.case_id.in_(ids)).order_by(CaseParty.position))).scalars():
            parties[party.case_id].append(party)
        for case_id, affiliation in await session.execute(
            select(CaseMediator.case_id, CaseMediator.affiliation).where(CaseMediator.case_id.in_(ids)).order_by(CaseMediator.added_at)
        ):
            if affiliation not in affiliations[case_id]:
                affiliations[case_id].append(affiliation)
        cooperating = set((await session.execute(select(CaseUnit.case_id).where(CaseUnit.case_id.in_(ids)))).scalars())
    return [
        CaseSummary(
            id=c.id,
            number=c.number,
            unit_id=c.unit_id,
            category=c.category,
            status=c.status,
            outcome=_outcome(c),
            risk_level=c.risk_level,
            # Joint mediation: another unit joins, or mediators come from more than one body.
            joint=c.id in cooperating or len(affiliations[c.id]) > 1,
            reported_on=c.reported_on,
            registered_on=c.registered_on,
            concluded_on=c.concluded_on,
            closed_on=c.closed_on,
            amount_in_dispute_fen=c.amount_in_dispute_fen,
            recovered_fen=c.recovered_fen,
            judicial_confirmation_deadline=c.judicial_confirmation_deadline,
            judicial_confirmation_applied_on=c.judicial_confirmation_applied_on,
            parties=[PartyMasked(role=p.role, name=mask_name(p.name)) for p in parties[c.id]],
            mediator_affiliations=affiliations[c.id],
        )
        for c in cases
    ]


async def summary(session: AsyncSession, case: Case) -> CaseSummary:
    """The masked summary of one case."""
    return (await summaries(session, [case]))[0]


async def _mediators(session: AsyncSession, case_id: str, on: date) -> list[MediatorPublic]:
    rows = (await session.execute(select(CaseMediator).where(CaseMediator.case_id == case_id).order_by(CaseMediator.added_at))).scalars()
    return [
        MediatorPublic(**m.model_dump(exclude={"case_id", "added_at"}), party_member=await is_party_member(session, m.person_id, on))
        for m in rows
    ]


async def _full(session: AsyncSession, case: Case) -> CaseFull:
    base = (await summary(session, case)).model_dump(exclude={"view", "parties"})
    parties = (await session.execute(select(CaseParty).where(CaseParty.case_id == case.id).order_by(CaseParty.position))).scalars()
    sessions = (await session.execute(select(CaseSession).where(CaseSession.case_id == case.id).order_by(CaseSession.held_on, CaseSession.created_at))).scalars()
    follow_ups = (await session.execute(select(CaseFollowUp).where(CaseFollowUp.case_id == case.id).order_by(CaseFollowUp.visited_on, CaseFollowUp.created_at))).scalars()
    units = (await session.execute(select(CaseUnit.unit_id).where(CaseUnit.case_id == case.id).order_by(CaseUnit.unit_id))).scalars()
    return CaseFull(
        **base,
        facts=case.facts,
        points_in_dispute=case.points_in_dispute,
        risk_note=case.risk_note,
        accepted_on=case.accepted_on,
        mediation_started_on=case.mediation_started_on,
        agreement_terms=case.agreement_terms,
        agreement_signed_on=case.agreement_signed_on,
        performance_deadline=case.performance_deadline,
        failure_reason=case.failure_reason,
        referred_to=case.referred_to,
        cooperating_unit_ids=list(units),
        parties=[PartyPublic.model_validate(p, from_attributes=True) for p in parties],
        mediators=await _mediators(session, case.id, case.concluded_on or today()),
        sessions=[SessionPublic.model_validate(s, from_attributes=True) for s in sessions],
        follow_ups=[FollowUpPublic.model_validate(f, from_attributes=True) for f in follow_ups],
        created_at=case.created_at,
        updated_at=case.updated_at,
    )


async def read_case(session: AsyncSession, *, identity: Identity, case_id: str, request_id: str | None) -> CaseSummary | CaseFull:
    """The full case for roles that handle disputes, written to the audit log in the same transaction;
    a masked summary for everyone else in scope."""
    case = await get_case(session, identity=identity, case_id=case_id)
    if not sees_personal_data(identity):
        return await summary(session, case)
    session.add(
        CaseRead(
            id=new_id(),
            case_id=case.id,
            case_number=case.number,
            reader=identity.subject,
            reader_name=identity.name,
            reader_role=identity.role.value,
            request_id=request_id,
            read_at=datetime.now(UTC),
        )
    )
    return await _full(session, case)


# The case list's filters, each bound by this name (`statuses` expanded: a list).
_CASE_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "subtree": lambda: in_named_subtree(units_table.c.path),
    "statuses": lambda: Case.status.in_(bindparam("statuses", expanding=True)),
    "category": lambda: Case.category == bindparam("category"),
    "risk_level": lambda: Case.risk_level == bindparam("risk_level"),
    "start": lambda: Case.registered_on >= bindparam("start"),
    "end": lambda: Case.registered_on <= bindparam("end"),
    "number": lambda: Case.number == bindparam("number"),
    "mediator_person_id": lambda: Case.id.in_(
        select(CaseMediator.case_id).where(CaseMediator.person_id == bindparam("mediator_person_id"))
    ),
}
CaseShape = tuple[frozenset[str], Literal["agreed", "failed"] | None, bool | None]


@cache
def cases_statement(filters: frozenset[str], outcome: Literal["agreed", "failed"] | None, window_open: bool | None) -> Select:
    """The case list of one shape, built once (so its compiled form is found again): newest number first.
    Each name in `filters` binds its own value; `window_open` binds `today` (see `list_cases_query`)."""
    statement = select(Case).join(units_table, units_table.c.id == Case.unit_id)
    for name in _CASE_FILTERS:  # in a fixed order, whatever the order of `filters`
        if name in filters:
            statement = statement.where(_CASE_FILTERS[name]())
    if outcome == "agreed":
        statement = statement.where(Case.agreement_signed_on.is_not(None))
    elif outcome == "failed":
        statement = statement.where(Case.failure_reason.is_not(None))
    if window_open is not None:
        window = (
            Case.agreement_signed_on.is_not(None)
            & Case.judicial_confirmation_applied_on.is_(None)
            & (Case.judicial_confirmation_deadline >= bindparam("today"))
        )
        statement = statement.where(window if window_open else ~window)
    return statement.order_by(Case.registered_on.desc(), Case.year.desc(), Case.seq.desc(), Case.id)


@cache
def cases_page(filters: frozenset[str], outcome: Literal["agreed", "failed"] | None, window_open: bool | None) -> PagedQuery:
    """`cases_statement` of this shape, paged."""
    return PagedQuery.of(cases_statement(filters, outcome, window_open))


def list_cases_query(
    *,
    subtree: str | None,
    status: CaseStatus | Collection[CaseStatus] | None,
    category: CaseCategory | None,
    risk_level: RiskLevel | None,
    outcome: Literal["agreed", "failed"] | None,
    start: date | None,
    end: date | None,
    confirmation_window_open: bool | None,
    number: str | None,
    mediator_person_id: str | None = None,
) -> tuple[CaseShape, dict[str, Any]]:
    """The shape of the list of cases registered in the period under `subtree` (the path `list_subtree` gives
    for the caller and their `under`; None: everywhere), newest number first, and its binds:
    `cases_statement(*shape)` or `cases_page(*shape)` run with the binds. `status` may name several."""
    statuses = [status] if isinstance(status, CaseStatus) else list(status) if status else None
    filters = dict(
        subtree=subtree, statuses=statuses, category=category, risk_level=risk_level, start=start, end=end, number=number,
        mediator_person_id=mediator_person_id,
    )
    params = {name: value for name, value in filters.items() if value is not None}
    if confirmation_window_open is not None:
        params["today"] = today()
    return (frozenset(params) - {"today"}, outcome, confirmation_window_open), params


# --- lifecycle --------------------------------------------------------------------------------


async def _for_change(session: AsyncSession, identity: Identity, case_id: str, allowed: set[CaseStatus], action: str) -> Case:
    require_case_handler(identity)
    case = await get_case(session, identity=identity, case_id=case_id)
    if case.status not in allowed:
        raise conflict(f"a {case.status.value} case cannot be {action}", code="invalid_transition")
    case.updated_at = datetime.now(UTC)
    return case


def _not_before(day: date, earliest: date | None, field: str, what: str) -> None:
    if earliest is not None and day < earliest:
        raise unprocessable(f"{field} is before the case was {what}", loc=["body", field])


async def accept_case(session: AsyncSession, *, identity: Identity, case_id: str, data: AcceptIn) -> Case:
    """registered → accepted."""
    case = await _for_change(session, identity, case_id, {CaseStatus.REGISTERED}, "accepted")
    accepted_on = data.accepted_on or today()
    _not_before(accepted_on, case.registered_on, "accepted_on", "registered")
    case.status, case.accepted_on = CaseStatus.ACCEPTED, accepted_on
    return case


async def start_mediation(session: AsyncSession, *, identity: Identity, case_id: str) -> Case:
    """accepted → mediating; a case needs at least one mediator first."""
    case = await _for_change(session, identity, case_id, {CaseStatus.ACCEPTED}, "put into mediation")
    if await session.scalar(select(CaseMediator.id).where(CaseMediator.case_id == case.id).limit(1)) is None:
        raise conflict("add a mediator before mediation starts", code="no_mediator")
    case.status, case.mediation_started_on = CaseStatus.MEDIATING, today()
    return case


async def _emit_concluded(session: AsyncSession, case: Case) -> None:
    unit = await grid.get(session, case.unit_id)
    mediators = (await session.execute(select(CaseMediator).where(CaseMediator.case_id == case.id).order_by(CaseMediator.added_at))).scalars()
    refs = [
        MediatorRef(
            person_id=m.person_id,
            name=m.name,
            affiliation=m.affiliation.value,
            party_member=await is_party_member(session, m.person_id, case.concluded_on),
        )
        for m in mediators
    ]
    emit(
        session,
        CaseConcluded(
            case_id=case.id,
            number=case.number,
            category=case.category.value,
            unit_id=case.unit_id,
            unit_path=unit.path if unit else "",
            outcome=_outcome(case),
            concluded_on=case.concluded_on,
            recovered_fen=case.recovered_fen,
            mediators=refs,
        ),
    )


async def record_agreement(session: AsyncSession, *, identity: Identity, case_id: str, data: AgreementIn) -> Case:
    """mediating → agreed; the 30-day judicial confirmation window opens; emit CaseConcluded with the mediators."""
    case = await _for_change(session, identity, case_id, {CaseStatus.MEDIATING}, "agreed")
    _not_before(data.signed_on, case.mediation_started_on, "signed_on", "put into mediation")
    case.status = CaseStatus.AGREED
    case.agreement_terms = data.terms.strip()
    case.agreement_signed_on = case.concluded_on = data.signed_on
    case.performance_deadline = data.performance_deadline
    case.judicial_confirmation_deadline = data.signed_on + timedelta(days=JUDICIAL_CONFIRMATION_DAYS)
    case.recovered_fen = data.recovered_fen
    await _emit_concluded(session, case)
    return case


async def record_failure(session: AsyncSession, *, identity: Identity, case_id: str, data: FailureIn) -> Case:
    """mediating → failed, with the referral (arbitration, litigation …); emit CaseConcluded with the mediators."""
    case = await _for_change(session, identity, case_id, {CaseStatus.MEDIATING}, "failed")
    _not_before(data.concluded_on, case.mediation_started_on, "concluded_on", "put into mediation")
    case.status = CaseStatus.FAILED
    case.failure_reason, case.referred_to, case.concluded_on = data.reason.strip(), data.referred_to, data.concluded_on
    await _emit_concluded(session, case)
    return case


async def close_case(session: AsyncSession, *, identity: Identity, case_id: str, data: CloseIn) -> Case:
    """agreed | failed → closed (the file is archived)."""
    case = await _for_change(session, identity, case_id, {CaseStatus.AGREED, CaseStatus.FAILED}, "closed")
    _not_before(data.closed_on, case.concluded_on, "closed_on", "concluded")
    case.status, case.closed_on = CaseStatus.CLOSED, data.closed_on
    return case


async def set_risk(session: AsyncSession, *, identity: Identity, case_id: str, data: RiskUpdate) -> Case:
    """Flag (or clear) the escalation risk of an open case."""
    case = await _for_change(session, identity, case_id, set(CaseStatus) - {CaseStatus.CLOSED}, "flagged")
    case.risk_level, case.risk_note = data.risk_level, data.note
    return case


async def record_judicial_confirmation(session: AsyncSession, *, identity: Identity, case_id: str, data: JudicialConfirmationIn) -> Case:
    """Record the application for judicial confirmation; it must fall within 30 days of the agreement."""
    case = await _for_change(session, identity, case_id, {CaseStatus.AGREED, CaseStatus.CLOSED}, "confirmed")
    if case.agreement_signed_on is None:
        raise conflict("the case has no agreement to confirm", code="invalid_transition")
    _not_before(data.applied_on, case.agreement_signed_on, "applied_on", "agreed")
    if data.applied_on > case.judicial_confirmation_deadline:
        raise unprocessable(
            f"the 30-day window closed on {case.judicial_confirmation_deadline.isoformat()}",
            code="confirmation_window_passed",
            loc=["body", "applied_on"],
        )
    case.judicial_confirmation_applied_on = data.applied_on
    return case


async def add_mediator(session: AsyncSession, *, identity: Identity, case_id: str, data: MediatorIn) -> MediatorPublic:
    """Add a mediator to a case not yet concluded."""
    case = await _for_change(session, identity, case_id, {CaseStatus.REGISTERED, CaseStatus.ACCEPTED, CaseStatus.MEDIATING}, "given mediators")
    await _check_mediator(session, data, ["body"])
    mediator = _mediator_row(case.id, data)
    session.add(mediator)
    return MediatorPublic(
        **mediator.model_dump(exclude={"case_id", "added_at"}), party_member=await is_party_member(session, data.person_id, today())
    )


async def add_session(session: AsyncSession, *, identity: Identity, case_id: str, data: SessionIn) -> SessionPublic:
    """Record a mediation session of a case in mediation."""
    case = await _for_change(session, identity, case_id, {CaseStatus.MEDIATING}, "given sessions")
    _not_before(data.held_on, case.accepted_on, "held_on", "accepted")
    row = CaseSession(id=new_id(), case_id=case.id, recorded_by=identity.subject, created_at=datetime.now(UTC), **data.model_dump())
    session.add(row)
    return SessionPublic.model_validate(row, from_attributes=True)


async def add_follow_up(session: AsyncSession, *, identity: Identity, case_id: str, data: FollowUpIn) -> FollowUpPublic:
    """Record a follow-up visit on an agreement's performance; further amounts recovered add to the case."""
    case = await _for_change(session, identity, case_id, {CaseStatus.AGREED, CaseStatus.CLOSED}, "followed up")
    if case.agreement_signed_on is None:
        raise conflict("only agreements are followed up", code="invalid_transition")
    _not_before(data.visited_on, case.agreement_signed_on, "visited_on", "agreed")
    row = CaseFollowUp(id=new_id(), case_id=case.id, recorded_by=identity.subject, created_at=datetime.now(UTC), **data.model_dump())
    session.add(row)
    case.recovered_fen += data.recovered_fen
    return FollowUpPublic.model_validate(row, from_attributes=True)


# --- audit ------------------------------------------------------------------------------------


async def list_reads_query(
    session: AsyncSession,
    *,
    identity: Identity,
    under: str | None,
    case_id: str | None,
    reader: str | None,
    start: date | None,
    end: date | None,
) -> Select:
    """Audit entries of full-case reads of cases in the auditor's scope, newest first."""
    require_auditor(identity)
    statement = select(CaseRead).join(Case, Case.id == CaseRead.case_id)
    statement = await scoped(session, statement, Case.unit_id, identity, under)
    if case_id is not None:
        statement = statement.where(CaseRead.case_id == case_id)
    if reader is not None:
        statement = statement.where(CaseRead.reader == reader)
    if start is not None:
        statement = statement.where(CaseRead.read_at >= datetime.combine(start, datetime.min.time(), tzinfo=SHANGHAI))
    if end is not None:
        statement = statement.where(CaseRead.read_at < datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI))
    return statement.order_by(CaseRead.read_at.desc(), CaseRead.id.desc())


def adviser_took_part() -> ColumnElement[bool]:
    """SQL condition: a legal adviser was among the case's mediators (the report's 'disputes advisers took part in')."""
    return exists().where(CaseMediator.case_id == Case.id, CaseMediator.affiliation == Affiliation.LEGAL_ADVISER)
