"""HTTP endpoints for mediation cases under `/api/v1/legal/cases` and the read audit log.

Only `GET /cases/{id}` ever returns a full case, and only to roles that handle disputes, with
an audit entry written in the same transaction. Every other answer is a masked summary.
"""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import Query

from legal_svc.cases import service
from legal_svc.cases.models import (
    AcceptIn,
    AgreementIn,
    CaseCategory,
    CaseCreate,
    CaseFull,
    CaseReadPublic,
    CaseStatus,
    CaseSummary,
    CloseIn,
    FailureIn,
    FollowUpIn,
    FollowUpPublic,
    JudicialConfirmationIn,
    MediatorIn,
    MediatorPublic,
    RiskLevel,
    RiskUpdate,
    SessionIn,
    SessionPublic,
)
from legal_svc.db import grid, platform
from legal_svc.listing import page_of
from legal_svc.periods import PeriodDep
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/legal", tags=["mediation cases"])

Under = Annotated[str | None, Query(max_length=26, description="only records in this unit's subtree")]


def _request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")


@router.post("/cases", status_code=201, response_model=CaseSummary, summary="Register a dispute as a mediation case")
async def register_case(body: CaseCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Register a case at a town or a unit below; it gets the next number of its town and year
    (e.g. 禹王调〔2026〕12号, no gaps or duplicates). Emits `case.registered` without the parties.
    Mediators, town and county admins and village secretaries only. Answers the masked summary.
    """

    async def create(session):
        case = await service.register_case(session, identity=identity, data=body)
        return await service.summary(session, case)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/cases", response_model=Page[CaseSummary], summary="List mediation cases (masked)")
async def list_cases(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    period: PeriodDep,
    under: Under = None,
    status: Annotated[
        list[CaseStatus] | None,
        Query(description="one or more statuses, repeated (`status=registered&status=mediating`): cases in any of them"),
    ] = None,
    category: CaseCategory | None = None,
    risk_level: RiskLevel | None = None,
    outcome: Literal["agreed", "failed"] | None = None,
    confirmation_window_open: Annotated[
        bool | None, Query(description="agreements still inside their 30-day window for judicial confirmation, not yet applied for")
    ] = None,
    number: Annotated[str | None, Query(max_length=60, description="an exact case number")] = None,
    mediator_person_id: Annotated[
        str | None, Query(max_length=26, description="cases this grid-registry person took part in mediating")
    ] = None,
) -> Page[CaseSummary]:
    """Cases in scope registered in the period, newest first. Parties are always masked here, whatever the role."""
    subtree = await grid.list_subtree(db, identity, under)  # the caller's scope, or `under` inside it
    shape, params = service.list_cases_query(
        subtree=subtree,
        status=status,
        category=category,
        risk_level=risk_level,
        outcome=outcome,
        start=period.start,
        end=period.end,
        confirmation_window_open=confirmation_window_open,
        number=number,
        mediator_person_id=mediator_person_id,
    )
    rows, total = await service.cases_page(*shape).fetch(db, page, params)
    async with db.session() as session:
        items = await service.summaries(session, rows)
    return page_of(items, total, page)


@router.get("/cases/{case_id}", response_model=CaseFull | CaseSummary, summary="Read a mediation case")
async def read_case(case_id: str, db: DatabaseDep, identity: CurrentIdentity) -> CaseFull | CaseSummary:
    """The full case file (`view: full`) for mediators, village secretaries and town, county and platform
    admins, each read written to the audit log (who, when, which case, which request); a masked
    summary (`view: summary`) for every other role. 404 when missing or outside scope.
    """
    async with db.transaction() as session:
        return await service.read_case(session, identity=identity, case_id=case_id, request_id=_request_id())


async def _change(db, change) -> CaseSummary:  # noqa: ANN001 - the write and its summary in one transaction
    async with db.transaction() as session:
        case = await change(session)
        return await service.summary(session, case)


@router.post("/cases/{case_id}/accept", response_model=CaseSummary, summary="Accept a case")
async def accept_case(case_id: str, body: AcceptIn, db: DatabaseDep, identity: CurrentIdentity) -> CaseSummary:
    """registered → accepted; other states answer 409 `invalid_transition`."""
    return await _change(db, lambda s: service.accept_case(s, identity=identity, case_id=case_id, data=body))


@router.post("/cases/{case_id}/start-mediation", response_model=CaseSummary, summary="Start mediating a case")
async def start_mediation(case_id: str, db: DatabaseDep, identity: CurrentIdentity) -> CaseSummary:
    """accepted → mediating; a case without mediators answers 409 `no_mediator`."""
    return await _change(db, lambda s: service.start_mediation(s, identity=identity, case_id=case_id))


@router.post("/cases/{case_id}/agreement", response_model=CaseSummary, summary="Record a mediation agreement")
async def record_agreement(case_id: str, body: AgreementIn, db: DatabaseDep, identity: CurrentIdentity) -> CaseSummary:
    """mediating → agreed: terms, signed date, performance deadline, amount recovered (fen). The 30-day window
    for judicial confirmation runs from the signed date. Emits `case.concluded` naming the mediators."""
    return await _change(db, lambda s: service.record_agreement(s, identity=identity, case_id=case_id, data=body))


@router.post("/cases/{case_id}/failure", response_model=CaseSummary, summary="Record a failed mediation")
async def record_failure(case_id: str, body: FailureIn, db: DatabaseDep, identity: CurrentIdentity) -> CaseSummary:
    """mediating → failed, referred to arbitration, litigation or an agency. Emits `case.concluded`."""
    return await _change(db, lambda s: service.record_failure(s, identity=identity, case_id=case_id, data=body))


@router.post("/cases/{case_id}/close", response_model=CaseSummary, summary="Close a concluded case")
async def close_case(case_id: str, body: CloseIn, db: DatabaseDep, identity: CurrentIdentity) -> CaseSummary:
    """agreed | failed → closed."""
    return await _change(db, lambda s: service.close_case(s, identity=identity, case_id=case_id, data=body))


@router.put("/cases/{case_id}/risk", response_model=CaseSummary, summary="Set a case's escalation risk")
async def set_risk(case_id: str, body: RiskUpdate, db: DatabaseDep, identity: CurrentIdentity) -> CaseSummary:
    """Flag a case `elevated` or `high` for escalation (or back to `normal`), with a note."""
    return await _change(db, lambda s: service.set_risk(s, identity=identity, case_id=case_id, data=body))


@router.post("/cases/{case_id}/judicial-confirmation", response_model=CaseSummary, summary="Record a judicial confirmation application")
async def judicial_confirmation(case_id: str, body: JudicialConfirmationIn, db: DatabaseDep, identity: CurrentIdentity) -> CaseSummary:
    """The parties applied for judicial confirmation; after the 30-day window it answers 422 `confirmation_window_passed`."""
    return await _change(db, lambda s: service.record_judicial_confirmation(s, identity=identity, case_id=case_id, data=body))


@router.post("/cases/{case_id}/mediators", status_code=201, response_model=MediatorPublic, summary="Add a mediator to a case")
async def add_mediator(case_id: str, body: MediatorIn, db: DatabaseDep, identity: CurrentIdentity) -> MediatorPublic:
    """Add a full-time or volunteer mediator (village cadre, enforcement, market supervision, police, legal adviser,
    party-member volunteer) before the case is concluded."""
    async with db.transaction() as session:
        return await service.add_mediator(session, identity=identity, case_id=case_id, data=body)


@router.post("/cases/{case_id}/sessions", status_code=201, response_model=SessionPublic, summary="Record a mediation session")
async def add_session(case_id: str, body: SessionIn, db: DatabaseDep, identity: CurrentIdentity) -> SessionPublic:
    """A session of a case in mediation, with its notes (read back only through the audited case read)."""
    async with db.transaction() as session:
        return await service.add_session(session, identity=identity, case_id=case_id, data=body)


@router.post("/cases/{case_id}/follow-ups", status_code=201, response_model=FollowUpPublic, summary="Record a follow-up visit")
async def add_follow_up(case_id: str, body: FollowUpIn, db: DatabaseDep, identity: CurrentIdentity) -> FollowUpPublic:
    """A follow-up on an agreement's performance; a further amount recovered adds to the case's total."""
    async with db.transaction() as session:
        return await service.add_follow_up(session, identity=identity, case_id=case_id, data=body)


@router.get("/audit/case-reads", response_model=Page[CaseReadPublic], summary="The case read audit log", tags=["audit"])
async def list_case_reads(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    period: PeriodDep,
    under: Under = None,
    case_id: str | None = None,
    reader: Annotated[str | None, Query(max_length=100, description="the reader's subject (user id)")] = None,
) -> Page[CaseReadPublic]:
    """Every full read of a case in scope (who, when, which case, which request), newest first. Auditors only."""
    async with db.session() as session:
        statement = await service.list_reads_query(
            session, identity=identity, under=under, case_id=case_id, reader=reader, start=period.start, end=period.end
        )
        rows, total = await paginate(session, statement, page)
    return page_of([CaseReadPublic.model_validate(r, from_attributes=True) for r in rows], total, page)
