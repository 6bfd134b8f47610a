"""The figures of a unit's subtree over a period: one aggregate query per ledger, on the path index."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.advisers.models import AffairStatus, Consultation, LegalAffair
from legal_svc.cases.models import Case, CaseStatus, RiskLevel
from legal_svc.cases.service import adviser_took_part
from legal_svc.enforcement.models import Campaign, CampaignUnit, Inspection, Rectification
from legal_svc.figures.models import CaseOutcomes, LegalFigures
from legal_svc.patrols.models import PatrolIncident, PatrolLog
from legal_svc.publicity.models import PublicityEvent, PublicityTeam
from legal_svc.units import subtree_path, units_under
from shared.identity import Identity


def _within(column: ColumnElement, start: date | None, end: date | None) -> ColumnElement[bool]:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column <= end)
    return and_(True, *conditions)


async def _one(session: AsyncSession, statement: Select) -> tuple[int, ...]:
    row = (await session.execute(statement)).one()
    return tuple(int(value or 0) for value in row)


async def legal_figures(session: AsyncSession, *, identity: Identity, unit_id: str, start: date | None, end: date | None) -> LegalFigures:
    """Every figure of the unit's subtree (the unit must be in the caller's scope)."""
    units = units_under(await subtree_path(session, identity, unit_id))

    (consultations,) = await _one(
        session, select(func.count()).where(Consultation.unit_id.in_(units), _within(Consultation.asked_on, start, end))
    )
    (affairs,) = await _one(session, select(func.count()).where(LegalAffair.unit_id.in_(units), _within(LegalAffair.opened_on, start, end)))
    affairs_closed, affairs_recovered = await _one(
        session,
        select(func.count(), func.sum(LegalAffair.recovered_fen)).where(
            LegalAffair.unit_id.in_(units), LegalAffair.status == AffairStatus.CLOSED, _within(LegalAffair.closed_on, start, end)
        ),
    )
    (registered,) = await _one(session, select(func.count()).where(Case.unit_id.in_(units), _within(Case.registered_on, start, end)))
    concluded = and_(Case.unit_id.in_(units), Case.concluded_on.is_not(None), _within(Case.concluded_on, start, end))
    agreed, failed, mediation_recovered = await _one(
        session,
        select(
            func.count(Case.agreement_signed_on),
            func.count(Case.failure_reason),
            func.sum(Case.recovered_fen),
        ).where(concluded),
    )
    with_adviser, adviser_cases_recovered = await _one(
        session, select(func.count(), func.sum(Case.recovered_fen)).where(concluded, adviser_took_part())
    )
    (high_risk,) = await _one(
        session,
        select(func.count()).where(
            Case.unit_id.in_(units), Case.risk_level == RiskLevel.HIGH,
            Case.status.in_([CaseStatus.REGISTERED, CaseStatus.ACCEPTED, CaseStatus.MEDIATING]),
        ),
    )
    running = and_(
        True,
        *([Campaign.starts_on <= end] if end is not None else []),
        *([or_(Campaign.ends_on.is_(None), Campaign.ends_on >= start)] if start is not None else []),
    )
    (campaigns,) = await _one(
        session,
        select(func.count()).where(
            running, Campaign.id.in_(select(CampaignUnit.campaign_id).where(CampaignUnit.unit_id.in_(units)))
        ),
    )
    inspections, pending = await _one(
        session,
        select(func.count(), func.sum(case((Inspection.rectification == Rectification.PENDING, 1), else_=0))).where(
            Inspection.unit_id.in_(units), _within(Inspection.inspected_on, start, end)
        ),
    )
    existed = and_(
        True,
        *([PublicityTeam.formed_on <= end] if end is not None else []),
        *([or_(PublicityTeam.disbanded_on.is_(None), PublicityTeam.disbanded_on > start)] if start is not None else []),
    )
    (teams,) = await _one(session, select(func.count()).where(PublicityTeam.unit_id.in_(units), existed))
    events, audience = await _one(
        session,
        select(func.count(), func.sum(PublicityEvent.audience)).where(
            PublicityEvent.unit_id.in_(units), _within(PublicityEvent.held_on, start, end)
        ),
    )
    patrol_scope = and_(PatrolLog.unit_id.in_(units), _within(PatrolLog.patrolled_on, start, end))
    (patrols,) = await _one(session, select(func.count()).where(patrol_scope))
    incidents, patrol_recovered, prevented = await _one(
        session,
        select(func.count(), func.sum(PatrolIncident.recovered_fen), func.sum(PatrolIncident.losses_prevented_fen))
        .join(PatrolLog, PatrolLog.id == PatrolIncident.patrol_id)
        .where(patrol_scope),
    )
    return LegalFigures(
        unit_id=unit_id,
        start=start,
        end=end,
        legal_consultations=consultations,
        legal_affairs=affairs,
        legal_affairs_closed=affairs_closed,
        cases_registered=registered,
        cases_mediated=agreed + failed,
        disputes_mediated=with_adviser,
        cases_by_outcome=CaseOutcomes(agreed=agreed, failed=failed),
        cases_high_risk_open=high_risk,
        adviser_recovered_fen=affairs_recovered + adviser_cases_recovered,
        mediation_recovered_fen=mediation_recovered,
        enforcement_campaigns=campaigns,
        inspections=inspections,
        rectifications_pending=pending,
        publicity_teams=teams,
        publicity_events=events,
        publicity_audience=audience,
        patrols=patrols,
        patrol_incidents=incidents,
        patrol_recovered_fen=patrol_recovered,
        patrol_losses_prevented_fen=prevented,
    )
