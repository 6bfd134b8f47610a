"""Appraisal use cases: campaigns, candidates from the grid registry, weighted scores, results on
notice with objections, and revocation with a cool-off before the subject may be put up again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.access import path_related, related_condition, require_in_scope, require_town_manager
from points_svc.appraisals.models import (
    Appraisal,
    AppraisalCandidate,
    AppraisalCreate,
    AppraisalDetail,
    AppraisalKind,
    AppraisalObjection,
    AppraisalObjectionCreate,
    AppraisalObjectionPublic,
    AppraisalObjectionResolve,
    AppraisalPublic,
    AppraisalStatus,
    CandidateAdd,
    CandidatePublic,
    CandidateStatus,
    ObjectionStatus,
    PublicAppraisalResult,
    PublicResultLine,
)
from points_svc.db import grid
from points_svc.households.models import Household
from points_svc.periods import objection_deadline
from points_svc.ranking import competition_ranks
from shared.events.points import AppraisalResultPublished
from shared.identity import Identity, require_write
from shared.ids import new_id
from shared.local_time import as_utc
from shared.outbox import emit
from shared.problems import conflict, not_found, unprocessable
from shared.scope import in_subtree


async def create_appraisal(session: AsyncSession, *, identity: Identity, data: AppraisalCreate, default_working_days: int) -> Appraisal:
    """Start a campaign in a town in the caller's scope."""
    require_town_manager(identity)
    town = await grid.get_in_scope(session, identity, data.town_unit_id)
    if town.level != "town":
        raise unprocessable(f"appraisals are run by a town, not a {town.level}", code="not_a_town", loc=["body", "town_unit_id"])
    appraisal = Appraisal(
        id=new_id(), town_unit_id=town.id, town_path=town.path, kind=data.kind, name=data.name, year=data.year,
        criteria=[c.model_dump() for c in data.criteria], pass_score=data.pass_score,
        objection_working_days=default_working_days if data.objection_working_days is None else data.objection_working_days,
        status=AppraisalStatus.DRAFT, created_by=identity.subject, created_at=datetime.now(UTC),
    )
    session.add(appraisal)
    await session.flush()
    return appraisal


async def get_appraisal(session: AsyncSession, *, identity: Identity, appraisal_id: str, write: bool = False) -> Appraisal:
    """A campaign of a town the caller's scope lies in or above (writers: in scope), else 404."""
    appraisal = await session.get(Appraisal, appraisal_id)
    scope_path = await grid.scope_path(session, identity)
    if appraisal is None or not path_related(appraisal.town_path, identity, scope_path):
        raise not_found("appraisal")
    if write:
        require_town_manager(identity)
        require_in_scope(appraisal.town_path, identity, scope_path, "appraisal")
    return appraisal


async def _candidate(session: AsyncSession, appraisal: Appraisal, candidate_id: str) -> AppraisalCandidate:
    candidate = await session.get(AppraisalCandidate, candidate_id)
    if candidate is None or candidate.appraisal_id != appraisal.id:
        raise not_found("candidate")
    return candidate


async def add_candidate(
    session: AsyncSession, *, identity: Identity, appraisal_id: str, data: CandidateAdd, cool_off_days: int
) -> AppraisalCandidate:
    """Put up a household or village of the town; refused while a revocation's cool-off runs."""
    appraisal = await get_appraisal(session, identity=identity, appraisal_id=appraisal_id, write=True)
    if appraisal.status != AppraisalStatus.DRAFT:
        raise conflict("candidates are added while the campaign is a draft", code="not_draft")
    if appraisal.kind == AppraisalKind.CIVILISED_HOUSEHOLD:
        household = await session.get(Household, data.subject_id)
        if household is None or not household.unit_path.startswith(appraisal.town_path):
            raise unprocessable("no such household in the town", code="unknown_subject", loc=["body", "subject_id"])
        if household.dissolved_on is not None:
            raise unprocessable("the household was dissolved", code="household_dissolved", loc=["body", "subject_id"])
        name, path = household.head_name or "（户）", household.unit_path
    else:
        village = await grid.get(session, data.subject_id)
        if village is None or village.level != "village" or not village.path.startswith(appraisal.town_path):
            raise unprocessable("no such village in the town", code="unknown_subject", loc=["body", "subject_id"])
        name, path = village.name, village.path
    if await session.scalar(
        select(AppraisalCandidate.id).where(AppraisalCandidate.appraisal_id == appraisal.id, AppraisalCandidate.subject_id == data.subject_id)
    ):
        raise conflict("already a candidate in this campaign", code="duplicate_candidate")
    revoked_at = await session.scalar(
        select(AppraisalCandidate.revoked_at)
        .where(AppraisalCandidate.subject_id == data.subject_id, AppraisalCandidate.kind == appraisal.kind,
               AppraisalCandidate.status == CandidateStatus.REVOKED)
        .order_by(AppraisalCandidate.revoked_at.desc())
        .limit(1)
    )
    now = datetime.now(UTC)
    if revoked_at is not None and as_utc(revoked_at) + timedelta(days=cool_off_days) > now:
        until = (as_utc(revoked_at) + timedelta(days=cool_off_days)).date().isoformat()
        raise unprocessable(f"the title was revoked; it may be applied for again from {until}", code="cool_off", loc=["body", "subject_id"])
    candidate = AppraisalCandidate(
        id=new_id(), appraisal_id=appraisal.id, kind=appraisal.kind, subject_id=data.subject_id, subject_name=name,
        subject_path=path, scores={}, status=CandidateStatus.NOMINATED, added_by=identity.subject, added_at=now,
    )
    session.add(candidate)
    await session.flush()
    return candidate


async def score_candidate(
    session: AsyncSession, *, identity: Identity, appraisal_id: str, candidate_id: str, scores: dict[str, int]
) -> AppraisalCandidate:
    """Score every criterion (0–100); the weighted score is kept exactly, ×100."""
    appraisal = await get_appraisal(session, identity=identity, appraisal_id=appraisal_id, write=True)
    if appraisal.status != AppraisalStatus.DRAFT:
        raise conflict("scores are set while the campaign is a draft", code="not_draft")
    candidate = await _candidate(session, appraisal, candidate_id)
    codes = {c["code"] for c in appraisal.criteria}
    if set(scores) != codes:
        raise unprocessable(f"score exactly the criteria {sorted(codes)}", code="criteria_mismatch", loc=["body", "scores"])
    candidate.scores = dict(scores)
    candidate.weighted_x100 = sum(scores[c["code"]] * c["weight"] for c in appraisal.criteria)
    return candidate


async def publish_results(session: AsyncSession, *, identity: Identity, appraisal_id: str) -> Appraisal:
    """Decide every candidate against the pass score and put the results on notice; emit AppraisalResultPublished."""
    appraisal = await get_appraisal(session, identity=identity, appraisal_id=appraisal_id, write=True)
    if appraisal.status != AppraisalStatus.DRAFT:
        raise conflict("the results were already published", code="not_draft")
    candidates = (await session.execute(select(AppraisalCandidate).where(AppraisalCandidate.appraisal_id == appraisal.id))).scalars().all()
    if not candidates:
        raise unprocessable("the campaign has no candidates", code="no_candidates")
    unscored = [c.subject_name for c in candidates if c.weighted_x100 is None]
    if unscored:
        raise unprocessable(f"{len(unscored)} candidates are not scored yet", code="unscored_candidates")
    for candidate in candidates:
        passed = candidate.weighted_x100 >= appraisal.pass_score * 100
        candidate.status = CandidateStatus.AWARDED if passed else CandidateStatus.NOT_AWARDED
    now = datetime.now(UTC)
    appraisal.status, appraisal.published_at = AppraisalStatus.PUBLISHED, now
    appraisal.objection_deadline = objection_deadline(now, appraisal.objection_working_days)
    emit(
        session,
        AppraisalResultPublished(
            appraisal_id=appraisal.id, kind=appraisal.kind.value, town_unit_id=appraisal.town_unit_id, year=appraisal.year,
            awarded_subject_ids=[c.subject_id for c in candidates if c.status == CandidateStatus.AWARDED],
            candidates=len(candidates), objection_deadline=appraisal.objection_deadline,
        ),
    )
    return appraisal


async def raise_objection(
    session: AsyncSession, *, identity: Identity, appraisal_id: str, data: AppraisalObjectionCreate
) -> AppraisalObjection:
    """Object to a published result before the deadline."""
    require_write(identity, "points")
    appraisal = await get_appraisal(session, identity=identity, appraisal_id=appraisal_id)
    now = datetime.now(UTC)
    if appraisal.status != AppraisalStatus.PUBLISHED or now > as_utc(appraisal.objection_deadline):
        raise unprocessable("objections are taken only while the results are on notice", code="objection_window_closed")
    candidate = await _candidate(session, appraisal, data.candidate_id)
    objection = AppraisalObjection(
        id=new_id(), appraisal_id=appraisal.id, candidate_id=candidate.id, reason=data.reason, raised_by=identity.subject,
        raised_at=now, status=ObjectionStatus.PENDING,
    )
    session.add(objection)
    await session.flush()
    return objection


async def resolve_objection(
    session: AsyncSession, *, identity: Identity, appraisal_id: str, objection_id: str, data: AppraisalObjectionResolve
) -> AppraisalObjection:
    """Upheld withdraws the candidate's award; rejected keeps the result."""
    appraisal = await get_appraisal(session, identity=identity, appraisal_id=appraisal_id, write=True)
    objection = await session.get(AppraisalObjection, objection_id)
    if objection is None or objection.appraisal_id != appraisal.id:
        raise not_found("objection")
    if data.decision == ObjectionStatus.PENDING:
        raise unprocessable("the decision is upheld or rejected", loc=["body", "decision"])
    if objection.status != ObjectionStatus.PENDING:
        raise conflict(f"the objection was already {objection.status.value}", code="already_resolved")
    if data.decision == ObjectionStatus.UPHELD:
        candidate = await _candidate(session, appraisal, objection.candidate_id)
        if candidate.status == CandidateStatus.AWARDED:
            candidate.status = CandidateStatus.WITHDRAWN
    objection.status, objection.resolution = data.decision, data.reason
    objection.resolved_by, objection.resolved_at = identity.subject, datetime.now(UTC)
    return objection


async def close_appraisal(session: AsyncSession, *, identity: Identity, appraisal_id: str) -> Appraisal:
    """After the deadline, with every objection decided, the results are final."""
    appraisal = await get_appraisal(session, identity=identity, appraisal_id=appraisal_id, write=True)
    if appraisal.status != AppraisalStatus.PUBLISHED:
        raise conflict("only published results can be closed", code="not_published")
    now = datetime.now(UTC)
    if now < as_utc(appraisal.objection_deadline):
        raise conflict(f"objections are taken until {as_utc(appraisal.objection_deadline).isoformat()}", code="objection_window_open")
    if await session.scalar(
        select(AppraisalObjection.id).where(AppraisalObjection.appraisal_id == appraisal.id, AppraisalObjection.status == ObjectionStatus.PENDING)
    ):
        raise conflict("decide every objection before closing", code="objections_pending")
    appraisal.status, appraisal.closed_at = AppraisalStatus.CLOSED, now
    return appraisal


async def revoke(session: AsyncSession, *, identity: Identity, appraisal_id: str, candidate_id: str, reason: str) -> AppraisalCandidate:
    """Revoke an awarded title with a reason; the subject waits out the cool-off before applying again."""
    appraisal = await get_appraisal(session, identity=identity, appraisal_id=appraisal_id, write=True)
    candidate = await _candidate(session, appraisal, candidate_id)
    if candidate.status != CandidateStatus.AWARDED:
        raise conflict(f"only an awarded title can be revoked (this one is {candidate.status.value})", code="not_awarded")
    candidate.status, candidate.revoked_reason, candidate.revoked_at = CandidateStatus.REVOKED, reason, datetime.now(UTC)
    return candidate


async def detail(session: AsyncSession, appraisal: Appraisal) -> AppraisalDetail:
    """A campaign with its candidates, best weighted score first, and its objections."""
    candidates = (
        await session.execute(
            select(AppraisalCandidate).where(AppraisalCandidate.appraisal_id == appraisal.id).order_by(AppraisalCandidate.id)
        )
    ).scalars().all()
    ordered = sorted(candidates, key=lambda c: (-(c.weighted_x100 or -1), c.subject_name, c.id))
    objections = (
        await session.execute(select(AppraisalObjection).where(AppraisalObjection.appraisal_id == appraisal.id).order_by(AppraisalObjection.id))
    ).scalars().all()
    return AppraisalDetail(
        **AppraisalPublic.model_validate(appraisal, from_attributes=True).model_dump(),
        candidates=[CandidatePublic.model_validate(c, from_attributes=True) for c in ordered],
        objections=[AppraisalObjectionPublic.model_validate(o, from_attributes=True) for o in objections],
    )


async def public_result(session: AsyncSession, *, identity: Identity, appraisal_id: str) -> PublicAppraisalResult:
    """A published campaign's results for the public page: names, scores, outcomes (404 while a draft)."""
    appraisal = await get_appraisal(session, identity=identity, appraisal_id=appraisal_id)
    if appraisal.status == AppraisalStatus.DRAFT:
        raise not_found("appraisal")
    full = await detail(session, appraisal)
    ranks = competition_ranks([c.weighted_x100 or 0 for c in full.candidates])
    return PublicAppraisalResult(
        name=appraisal.name, kind=appraisal.kind, year=appraisal.year, status=appraisal.status,
        objection_deadline=appraisal.objection_deadline,
        lines=[
            PublicResultLine(rank=rank, name=c.subject_name, score=f"{(c.weighted_x100 or 0) / 100:.2f}", status=c.status)
            for rank, c in zip(ranks, full.candidates, strict=True)
        ],
    )


def list_appraisals_query(
    *, identity: Identity, scope_path: str | None, town_unit_id: str | None, kind: AppraisalKind | None,
    year: int | None, status: AppraisalStatus | None, under_path: str | None = None,
) -> Select:
    """Campaigns of towns related to the caller's scope, newest first."""
    statement = select(Appraisal).where(related_condition(Appraisal.town_path, identity, scope_path))
    if under_path is not None:
        statement = statement.where(in_subtree(Appraisal.town_path, under_path))
    if town_unit_id is not None:
        statement = statement.where(Appraisal.town_unit_id == town_unit_id)
    if kind is not None:
        statement = statement.where(Appraisal.kind == kind)
    if year is not None:
        statement = statement.where(Appraisal.year == year)
    if status is not None:
        statement = statement.where(Appraisal.status == status)
    return statement.order_by(Appraisal.year.desc(), Appraisal.id.desc())
