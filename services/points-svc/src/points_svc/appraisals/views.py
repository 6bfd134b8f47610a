"""HTTP endpoints for appraisals (一创多评) under `/api/v1/points/appraisals`."""

from __future__ import annotations

from fastapi import Request

from points_svc.appraisals import service
from points_svc.appraisals.models import (
    AppraisalCreate,
    AppraisalDetail,
    AppraisalKind,
    AppraisalObjectionCreate,
    AppraisalObjectionPublic,
    AppraisalObjectionResolve,
    AppraisalPublic,
    AppraisalStatus,
    CandidateAdd,
    CandidatePublic,
    CandidateRevoke,
    CandidateScores,
    PublicAppraisalResult,
)
from points_svc.db import grid, platform
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/points", tags=["appraisals"])


@router.post("/appraisals", status_code=201, response_model=AppraisalDetail, summary="Start an appraisal campaign")
async def create_appraisal(body: AppraisalCreate, request: Request, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Start a campaign of star-rated civilised households or civilised villages in a town:
    criteria with weights (adding up to 100), the pass score, and the objection window."""
    default_days = request.app.state.settings.notice_objection_working_days

    async def create(session):
        appraisal = await service.create_appraisal(session, identity=identity, data=body, default_working_days=default_days)
        return await service.detail(session, appraisal)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/appraisals", response_model=Page[AppraisalPublic], summary="List appraisal campaigns")
async def list_appraisals(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    town_unit_id: str | None = None,
    kind: AppraisalKind | None = None,
    year: int | None = None,
    status: AppraisalStatus | None = None,
) -> Page[AppraisalPublic]:
    """Campaigns of towns the caller's scope lies in or above, newest first."""
    async with db.session() as session:
        statement = service.list_appraisals_query(
            identity=identity, scope_path=await grid.scope_path(session, identity), town_unit_id=town_unit_id, kind=kind,
            year=year, status=status,
        )
        rows, total = await paginate(session, statement, page)
    return Page(items=[AppraisalPublic.model_validate(a, from_attributes=True) for a in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/appraisals/{appraisal_id}", response_model=AppraisalDetail, summary="Read an appraisal campaign")
async def read_appraisal(appraisal_id: str, db: DatabaseDep, identity: CurrentIdentity) -> AppraisalDetail:
    """A campaign with its candidates (best first) and objections."""
    async with db.session() as session:
        appraisal = await service.get_appraisal(session, identity=identity, appraisal_id=appraisal_id)
        return await service.detail(session, appraisal)


@router.post("/appraisals/{appraisal_id}/candidates", status_code=201, response_model=CandidatePublic, summary="Add a candidate")
async def add_candidate(
    appraisal_id: str, body: CandidateAdd, request: Request, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep
):
    """Put up a household (from the grid registry) or a village of the town. 422 `cool_off` while
    a revoked title's cool-off runs; 409 `duplicate_candidate` when already put up."""
    cool_off = request.app.state.settings.appraisal_cool_off_days

    async def create(session):
        candidate = await service.add_candidate(session, identity=identity, appraisal_id=appraisal_id, data=body, cool_off_days=cool_off)
        return CandidatePublic.model_validate(candidate, from_attributes=True)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.put("/appraisals/{appraisal_id}/candidates/{candidate_id}/scores", response_model=CandidatePublic, summary="Score a candidate")
async def score_candidate(
    appraisal_id: str, candidate_id: str, body: CandidateScores, db: DatabaseDep, identity: CurrentIdentity
) -> CandidatePublic:
    """Score every criterion 0–100; the weighted score is kept ×100 (8650 is 86.50)."""
    async with db.transaction() as session:
        candidate = await service.score_candidate(
            session, identity=identity, appraisal_id=appraisal_id, candidate_id=candidate_id, scores=body.scores
        )
    return CandidatePublic.model_validate(candidate, from_attributes=True)


@router.post("/appraisals/{appraisal_id}/publish", response_model=AppraisalDetail, summary="Publish the results on notice")
async def publish_results(appraisal_id: str, db: DatabaseDep, identity: CurrentIdentity) -> AppraisalDetail:
    """Award the candidates reaching the pass score and put the results on notice for objections."""
    async with db.transaction() as session:
        appraisal = await service.publish_results(session, identity=identity, appraisal_id=appraisal_id)
        await session.flush()
        return await service.detail(session, appraisal)


@router.post("/appraisals/{appraisal_id}/objections", status_code=201, response_model=AppraisalObjectionPublic, summary="Object to a result")
async def raise_objection(
    appraisal_id: str, body: AppraisalObjectionCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep
):
    """Anyone in the town's area may object to a candidate's result while it is on notice."""

    async def create(session):
        objection = await service.raise_objection(session, identity=identity, appraisal_id=appraisal_id, data=body)
        return AppraisalObjectionPublic.model_validate(objection, from_attributes=True)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.post(
    "/appraisals/{appraisal_id}/objections/{objection_id}/resolve", response_model=AppraisalObjectionPublic, summary="Decide an objection"
)
async def resolve_objection(
    appraisal_id: str, objection_id: str, body: AppraisalObjectionResolve, db: DatabaseDep, identity: CurrentIdentity
) -> AppraisalObjectionPublic:
    """Upheld withdraws the candidate's award; rejected keeps the result."""
    async with db.transaction() as session:
        objection = await service.resolve_objection(
            session, identity=identity, appraisal_id=appraisal_id, objection_id=objection_id, data=body
        )
    return AppraisalObjectionPublic.model_validate(objection, from_attributes=True)


@router.post("/appraisals/{appraisal_id}/close", response_model=AppraisalDetail, summary="Close an appraisal")
async def close_appraisal(appraisal_id: str, db: DatabaseDep, identity: CurrentIdentity) -> AppraisalDetail:
    """After the objection window, with every objection decided, the results are final."""
    async with db.transaction() as session:
        appraisal = await service.close_appraisal(session, identity=identity, appraisal_id=appraisal_id)
        await session.flush()
        return await service.detail(session, appraisal)


@router.post("/appraisals/{appraisal_id}/candidates/{candidate_id}/revoke", response_model=CandidatePublic, summary="Revoke a title")
async def revoke_title(
    appraisal_id: str, candidate_id: str, body: CandidateRevoke, db: DatabaseDep, identity: CurrentIdentity
) -> CandidatePublic:
    """Revoke an awarded title with a reason; the subject may be put up again only after the cool-off."""
    async with db.transaction() as session:
        candidate = await service.revoke(session, identity=identity, appraisal_id=appraisal_id, candidate_id=candidate_id, reason=body.reason)
    return CandidatePublic.model_validate(candidate, from_attributes=True)


@router.get("/public/appraisals/{appraisal_id}", response_model=PublicAppraisalResult, summary="Public appraisal results")
async def read_public_result(appraisal_id: str, db: DatabaseDep, identity: CurrentIdentity) -> PublicAppraisalResult:
    """A published campaign's results for the gateway's public page: names, scores, outcomes, deadline."""
    async with db.session() as session:
        return await service.public_result(session, identity=identity, appraisal_id=appraisal_id)
