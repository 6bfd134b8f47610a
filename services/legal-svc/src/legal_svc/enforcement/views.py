"""HTTP endpoints for enforcement officers, campaigns and inspections under `/api/v1/legal`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from legal_svc.db import platform
from legal_svc.enforcement import service
from legal_svc.enforcement.models import (
    CampaignCreate,
    CampaignPublic,
    CampaignTopic,
    CertificateRenewal,
    InspectionCreate,
    InspectionPublic,
    OfficerCreate,
    OfficerPublic,
    Rectification,
    RectificationDone,
)
from legal_svc.listing import page_of
from legal_svc.periods import PeriodDep
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/legal", tags=["enforcement"])

Under = Annotated[str | None, Query(max_length=26, description="only records in this unit's subtree")]


@router.post("/officers", status_code=201, response_model=OfficerPublic, summary="Register an enforcement officer")
async def create_officer(body: OfficerCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Register a certified officer; a certificate number already registered answers 409 `duplicate_certificate`."""

    async def create(session):
        return service.officer_public(await service.create_officer(session, identity=identity, data=body))

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/officers", response_model=Page[OfficerPublic], summary="List enforcement officers")
async def list_officers(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Under = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3650, description="certificates still valid but expiring within N days")] = None,
    expired: bool | None = None,
) -> Page[OfficerPublic]:
    """Officers in scope, soonest-expiring certificate first (`expiring_within_days=60` is the renewal list)."""
    async with db.session() as session:
        statement = await service.list_officers_query(
            session, identity=identity, under=under, expiring_within_days=expiring_within_days, expired=expired
        )
        rows, total = await paginate(session, statement, page)
    return page_of([service.officer_public(o) for o in rows], total, page)


@router.get("/officers/{officer_id}", response_model=OfficerPublic, summary="Read an enforcement officer")
async def read_officer(officer_id: str, db: DatabaseDep, identity: CurrentIdentity) -> OfficerPublic:
    """One officer; 404 when missing or outside scope."""
    async with db.session() as session:
        return service.officer_public(await service.get_officer(session, identity=identity, officer_id=officer_id))


@router.put("/officers/{officer_id}/certificate", response_model=OfficerPublic, summary="Renew an officer's certificate")
async def renew_certificate(officer_id: str, body: CertificateRenewal, db: DatabaseDep, identity: CurrentIdentity) -> OfficerPublic:
    """Record the renewed certificate's number and validity."""
    async with db.transaction() as session:
        return service.officer_public(await service.renew_certificate(session, identity=identity, officer_id=officer_id, data=body))


@router.post("/campaigns", status_code=201, response_model=CampaignPublic, summary="Log an enforcement campaign")
async def log_campaign(body: CampaignCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Log a campaign (street-front business, illegal structures …) over units in scope; emits `campaign.logged`."""

    async def create(session):
        campaign = await service.log_campaign(session, identity=identity, data=body)
        return (await service.campaigns_public(session, [campaign]))[0]

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/campaigns", response_model=Page[CampaignPublic], summary="List enforcement campaigns")
async def list_campaigns(
    db: DatabaseDep, identity: CurrentIdentity, page: PageDep, period: PeriodDep, under: Under = None, topic: CampaignTopic | None = None
) -> Page[CampaignPublic]:
    """Campaigns covering a unit in scope (`under`: a unit there) running in the period, newest first."""
    async with db.session() as session:
        statement = await service.list_campaigns_query(session, identity=identity, under=under, topic=topic, start=period.start, end=period.end)
        rows, total = await paginate(session, statement, page)
        items = await service.campaigns_public(session, rows)
    return page_of(items, total, page)


@router.get("/campaigns/{campaign_id}", response_model=CampaignPublic, summary="Read an enforcement campaign")
async def read_campaign(campaign_id: str, db: DatabaseDep, identity: CurrentIdentity) -> CampaignPublic:
    """One campaign with its units and inspection counts."""
    async with db.session() as session:
        campaign = await service.get_campaign(session, identity=identity, campaign_id=campaign_id)
        return (await service.campaigns_public(session, [campaign]))[0]


@router.post("/inspections", status_code=201, response_model=InspectionPublic, summary="Record an inspection")
async def record_inspection(body: InspectionCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Record an inspection's findings and whether rectification is needed (and by when)."""

    async def create(session):
        return service.inspection_public(await service.record_inspection(session, identity=identity, data=body))

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/inspections", response_model=Page[InspectionPublic], summary="List inspections")
async def list_inspections(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    period: PeriodDep,
    under: Under = None,
    campaign_id: str | None = None,
    rectification: Rectification | None = None,
    overdue: Annotated[bool | None, Query(description="pending rectifications past their due date")] = None,
) -> Page[InspectionPublic]:
    """Inspections in scope in the period, newest first."""
    async with db.session() as session:
        statement = await service.list_inspections_query(
            session, identity=identity, under=under, campaign_id=campaign_id, rectification=rectification, overdue=overdue,
            start=period.start, end=period.end,
        )
        rows, total = await paginate(session, statement, page)
    return page_of([service.inspection_public(i) for i in rows], total, page)


@router.post("/inspections/{inspection_id}/rectified", response_model=InspectionPublic, summary="Mark findings rectified")
async def mark_rectified(inspection_id: str, body: RectificationDone, db: DatabaseDep, identity: CurrentIdentity) -> InspectionPublic:
    """A pending rectification was done; anything else answers 409 `invalid_transition`."""
    async with db.transaction() as session:
        return service.inspection_public(await service.mark_rectified(session, identity=identity, inspection_id=inspection_id, data=body))
