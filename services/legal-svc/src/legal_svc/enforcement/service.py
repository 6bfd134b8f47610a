"""Enforcement use cases: certify officers (and see whose certificates expire), log campaigns, inspect and rectify."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.access import require_legal_admin, require_legal_staff
from legal_svc.db import grid
from legal_svc.enforcement.models import (
    Campaign,
    CampaignCreate,
    CampaignPublic,
    CampaignTopic,
    CampaignUnit,
    CertificateRenewal,
    Inspection,
    InspectionCreate,
    InspectionPublic,
    Officer,
    OfficerCreate,
    OfficerPublic,
    Rectification,
    RectificationDone,
)
from legal_svc.units import load_in_scope, scoped, unit_for_write, units_table
from shared.events.legal import CampaignLogged
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import today
from shared.outbox import emit
from shared.problems import conflict, not_found, unprocessable
from shared.scope import in_subtree, scope_condition, town_of

# --- officers ---------------------------------------------------------------------------------


def officer_public(officer: Officer) -> OfficerPublic:
    """The API shape of an officer."""
    return OfficerPublic(
        **officer.model_dump(), certificate_days_left=(officer.certificate_valid_until - today()).days
    )


async def _certificate_taken(session: AsyncSession, number: str, except_id: str | None = None) -> bool:
    statement = select(Officer.id).where(Officer.certificate_number == number)
    if except_id is not None:
        statement = statement.where(Officer.id != except_id)
    return await session.scalar(statement) is not None


async def create_officer(session: AsyncSession, *, identity: Identity, data: OfficerCreate) -> Officer:
    """Register an officer with their enforcement certificate (numbers are unique)."""
    require_legal_admin(identity)
    await unit_for_write(session, identity, data.unit_id)
    if await _certificate_taken(session, data.certificate_number):
        raise conflict("this certificate number is already registered", code="duplicate_certificate")
    officer = Officer(id=new_id(), created_at=datetime.now(UTC), **data.model_dump())
    session.add(officer)
    return officer


async def get_officer(session: AsyncSession, *, identity: Identity, officer_id: str) -> Officer:
    """An officer in scope, else 404."""
    return await load_in_scope(session, identity, Officer, officer_id, "officer")


async def renew_certificate(session: AsyncSession, *, identity: Identity, officer_id: str, data: CertificateRenewal) -> Officer:
    """Record a renewed certificate."""
    require_legal_admin(identity)
    officer = await get_officer(session, identity=identity, officer_id=officer_id)
    if await _certificate_taken(session, data.certificate_number, officer.id):
        raise conflict("this certificate number is already registered", code="duplicate_certificate")
    officer.certificate_number, officer.certificate_valid_until = data.certificate_number, data.certificate_valid_until
    return officer


async def list_officers_query(
    session: AsyncSession, *, identity: Identity, under: str | None, expiring_within_days: int | None, expired: bool | None
) -> Select:
    """Officers in scope, soonest-expiring certificate first."""
    statement = await scoped(session, select(Officer), Officer.unit_id, identity, under)
    now = today()
    if expiring_within_days is not None:
        statement = statement.where(
            Officer.certificate_valid_until >= now, Officer.certificate_valid_until <= now + timedelta(days=expiring_within_days)
        )
    if expired is not None:
        statement = statement.where(Officer.certificate_valid_until < now if expired else Officer.certificate_valid_until >= now)
    return statement.order_by(Officer.certificate_valid_until, Officer.name, Officer.id)


# --- campaigns --------------------------------------------------------------------------------


async def log_campaign(session: AsyncSession, *, identity: Identity, data: CampaignCreate) -> Campaign:
    """Log a campaign over units in the caller's scope; emit CampaignLogged."""
    require_legal_staff(identity)
    lead = await unit_for_write(session, identity, data.unit_id)
    unit_ids = list(dict.fromkeys([lead.id, *data.unit_ids]))
    paths = {lead.id: lead.path}
    for index, unit_id in enumerate(unit_ids[1:]):
        paths[unit_id] = (await unit_for_write(session, identity, unit_id, field=f"unit_ids.{index}")).path
    campaign = Campaign(
        id=new_id(),
        theme=data.theme,
        topic=data.topic,
        unit_id=lead.id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        description=data.description,
        created_by=identity.subject,
        created_at=datetime.now(UTC),
    )
    session.add(campaign)
    await session.flush()
    for unit_id in unit_ids:
        session.add(CampaignUnit(campaign_id=campaign.id, unit_id=unit_id, town_unit_id=town_of(paths[unit_id])))
    emit(
        session,
        CampaignLogged(campaign_id=campaign.id, theme=campaign.theme, unit_ids=unit_ids, starts_on=data.starts_on, ends_on=data.ends_on),
    )
    return campaign


async def campaigns_public(session: AsyncSession, campaigns: Sequence[Campaign]) -> list[CampaignPublic]:
    """Campaigns with their units and inspection counts (three queries for a whole page)."""
    ids = [c.id for c in campaigns]
    units: dict[str, list[str]] = defaultdict(list)
    counts: dict[str, tuple[int, int]] = {}
    if ids:
        for campaign_id, unit_id in await session.execute(
            select(CampaignUnit.campaign_id, CampaignUnit.unit_id).where(CampaignUnit.campaign_id.in_(ids))
        ):
            units[campaign_id].append(unit_id)
        pending = func.sum(case((Inspection.rectification == Rectification.PENDING, 1), else_=0))
        for campaign_id, total, waiting in await session.execute(
            select(Inspection.campaign_id, func.count(), pending).where(Inspection.campaign_id.in_(ids)).group_by(Inspection.campaign_id)
        ):
            counts[campaign_id] = (int(total), int(waiting or 0))
    return [
        CampaignPublic(
            **c.model_dump(exclude={"created_by"}),
            unit_ids=[c.unit_id, *sorted(u for u in units[c.id] if u != c.unit_id)],
            inspections=counts.get(c.id, (0, 0))[0],
            rectifications_pending=counts.get(c.id, (0, 0))[1],
        )
        for c in campaigns
    ]


async def get_campaign(session: AsyncSession, *, identity: Identity, campaign_id: str) -> Campaign:
    """A campaign covering a unit in scope (its leading unit is always covered), else 404."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or await session.scalar(
        (await _covering(session, identity, None)).where(CampaignUnit.campaign_id == campaign_id).limit(1)
    ) is None:
        raise not_found("campaign")
    return campaign


async def _covering(session: AsyncSession, identity: Identity, under: str | None) -> Select:
    """Ids of campaigns covering a unit in the caller's scope (and under `under`)."""
    statement = (
        select(CampaignUnit.campaign_id)
        .join(units_table, units_table.c.id == CampaignUnit.unit_id)
        .where(scope_condition(units_table.c.path, identity, await grid.scope_path(session, identity)))
    )
    if under is not None:
        parent = await grid.get_in_scope(session, identity, under)
        statement = statement.where(in_subtree(units_table.c.path, parent.path))
    return statement


async def list_campaigns_query(
    session: AsyncSession, *, identity: Identity, under: str | None, topic: CampaignTopic | None, start: date | None, end: date | None
) -> Select:
    """Campaigns covering a unit in scope (and under `under`) running in the period, newest first."""
    statement = select(Campaign).where(Campaign.id.in_(await _covering(session, identity, under)))
    if topic is not None:
        statement = statement.where(Campaign.topic == topic)
    if start is not None:
        statement = statement.where(or_(Campaign.ends_on.is_(None), Campaign.ends_on >= start))
    if end is not None:
        statement = statement.where(Campaign.starts_on <= end)
    return statement.order_by(Campaign.starts_on.desc(), Campaign.id.desc())


# --- inspections ------------------------------------------------------------------------------


def inspection_public(inspection: Inspection) -> InspectionPublic:
    """The API shape of an inspection."""
    return InspectionPublic(
        **inspection.model_dump(exclude={"officer_ids"}),
        officer_ids=[o for o in inspection.officer_ids.split(",") if o],
        overdue=inspection.rectification == Rectification.PENDING
        and inspection.rectification_due is not None
        and inspection.rectification_due < today(),
    )


async def record_inspection(session: AsyncSession, *, identity: Identity, data: InspectionCreate) -> Inspection:
    """Record an inspection in scope, optionally part of a campaign covering its unit."""
    require_legal_staff(identity)
    unit = await unit_for_write(session, identity, data.unit_id)
    if data.campaign_id is not None:
        campaign = await session.get(Campaign, data.campaign_id)
        if campaign is None:
            raise unprocessable("no such campaign", code="unknown_campaign", loc=["body", "campaign_id"])
        covered = (await session.execute(select(CampaignUnit.unit_id).where(CampaignUnit.campaign_id == campaign.id))).scalars().all()
        if not any(unit.path.find(f"/{unit_id}/") >= 0 for unit_id in covered):
            raise unprocessable("the campaign does not cover this unit", code="outside_campaign", loc=["body", "unit_id"])
        if data.inspected_on < campaign.starts_on or (campaign.ends_on is not None and data.inspected_on > campaign.ends_on):
            raise unprocessable("the inspection falls outside the campaign's dates", loc=["body", "inspected_on"])
    for index, officer_id in enumerate(data.officer_ids):
        if await session.get(Officer, officer_id) is None:
            raise unprocessable("no such officer", code="unknown_officer", loc=["body", "officer_ids", index])
    inspection = Inspection(
        id=new_id(),
        created_at=datetime.now(UTC),
        town_unit_id=town_of(unit.path),
        **data.model_dump(exclude={"officer_ids"}),
        officer_ids=",".join(dict.fromkeys(data.officer_ids)),
    )
    session.add(inspection)
    return inspection


async def get_inspection(session: AsyncSession, *, identity: Identity, inspection_id: str) -> Inspection:
    """An inspection in scope, else 404."""
    return await load_in_scope(session, identity, Inspection, inspection_id, "inspection")


async def mark_rectified(session: AsyncSession, *, identity: Identity, inspection_id: str, data: RectificationDone) -> Inspection:
    """A pending rectification was done."""
    require_legal_staff(identity)
    inspection = await get_inspection(session, identity=identity, inspection_id=inspection_id)
    if inspection.rectification != Rectification.PENDING:
        raise conflict(f"rectification is {inspection.rectification.value}, not pending", code="invalid_transition")
    if data.rectified_on < inspection.inspected_on:
        raise unprocessable("rectified_on is before the inspection", loc=["body", "rectified_on"])
    inspection.rectification, inspection.rectified_on, inspection.rectification_note = Rectification.RECTIFIED, data.rectified_on, data.note
    return inspection


async def list_inspections_query(
    session: AsyncSession,
    *,
    identity: Identity,
    under: str | None,
    campaign_id: str | None,
    rectification: Rectification | None,
    overdue: bool | None,
    start: date | None,
    end: date | None,
) -> Select:
    """Inspections in scope in the period, newest first."""
    statement = await scoped(session, select(Inspection), Inspection.unit_id, identity, under)
    if campaign_id is not None:
        statement = statement.where(Inspection.campaign_id == campaign_id)
    if rectification is not None:
        statement = statement.where(Inspection.rectification == rectification)
    if overdue is not None:
        late = (Inspection.rectification == Rectification.PENDING) & (Inspection.rectification_due < today())
        statement = statement.where(late if overdue else ~late)
    if start is not None:
        statement = statement.where(Inspection.inspected_on >= start)
    if end is not None:
        statement = statement.where(Inspection.inspected_on <= end)
    return statement.order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
