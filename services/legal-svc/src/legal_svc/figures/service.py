"""The figures of a unit's subtree over a period: one statement, an aggregate per ledger, read by town
(`legal_svc.towns`) for a town or a unit in one, through the unit replica's path index for a county."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Literal

from sqlalchemy import ColumnElement, Select, Subquery, and_, bindparam, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.advisers.models import AffairStatus, Consultation, LegalAffair
from legal_svc.cases.models import Case, CaseStatus, RiskLevel
from legal_svc.cases.service import adviser_took_part
from legal_svc.enforcement.models import Campaign, CampaignUnit, Inspection, Rectification
from legal_svc.figures.models import CaseOutcomes, LegalFigures
from legal_svc.patrols.models import PatrolIncident, PatrolLog
from legal_svc.publicity.models import PublicityEvent, PublicityTeam
from legal_svc.units import subtree_path, units_table
from shared.identity import Identity
from shared.scope import in_named_subtree, path_ids, town_of

# The statement is built once per shape (open or closed ends, the place) with named parameters and reused:
# building it costs the service more than the database spends running it. The subtree is shared.scope's
# named pattern.
_START = bindparam("start")
_END = bindparam("end")
_TOWN = bindparam("town_unit_id")

# Where the counted records lie: a town (its records, by town), a unit below a town (the town's records of
# the subtree's units), or a county (the records of the subtree's units).
Place = Literal["town", "in_town", "county"]


def place_of(path: str) -> tuple[Place, dict[str, str]]:
    """The place of the subtree at `path` and its bind (`town_unit_id`, but for a county)."""
    town = town_of(path)
    if town is None:
        return "county", {}
    return ("town" if len(path_ids(path)) == 2 else "in_town"), {"town_unit_id": town}



def _within(column: ColumnElement, start: ColumnElement | None, end: ColumnElement | None) -> ColumnElement[bool]:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column <= end)
    return and_(True, *conditions)


def _joined(*parts: Subquery) -> Select:
    """One row of every part's columns: each part is a one-row aggregate, so the join is a plain concatenation."""
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.join(part, true())
    return select(*(column for part in parts for column in part.c)).select_from(joined)


@cache
def figures_query(open_start: bool, open_end: bool, place: Place) -> Select:
    """Every figure of a subtree (bind `subtree`, `start`, `end` and `place_of`'s bind) in one statement: one
    aggregate row per ledger, joined."""
    start = None if open_start else _START
    end = None if open_end else _END
    units = select(units_table.c.id).where(in_named_subtree(units_table.c.path))

    def within(model) -> ColumnElement[bool]:  # noqa: ANN001 - a table kept by town
        if place == "town":
            return model.town_unit_id == _TOWN
        in_units = model.unit_id.in_(units)
        return and_(model.town_unit_id == _TOWN, in_units) if place == "in_town" else in_units

    consultations = select(func.count().label("consultations")).where(
        within(Consultation), _within(Consultation.asked_on, start, end)
    )
    affairs = select(func.count().label("affairs")).where(within(LegalAffair), _within(LegalAffair.opened_on, start, end))
    affairs_closed = select(
        func.count().label("affairs_closed"), func.coalesce(func.sum(LegalAffair.recovered_fen), 0).label("affairs_recovered")
    ).where(within(LegalAffair), LegalAffair.status == AffairStatus.CLOSED, _within(LegalAffair.closed_on, start, end))
    registered = select(func.count().label("registered")).where(within(Case), _within(Case.registered_on, start, end))
    concluded = and_(within(Case), Case.concluded_on.is_not(None), _within(Case.concluded_on, start, end))
    outcomes = select(
        func.count(Case.agreement_signed_on).label("agreed"),
        func.count(Case.failure_reason).label("failed"),
        func.coalesce(func.sum(Case.recovered_fen), 0).label("mediation_recovered"),
    ).where(concluded)
    with_adviser = select(
        func.count().label("with_adviser"), func.coalesce(func.sum(Case.recovered_fen), 0).label("adviser_cases_recovered")
    ).where(concluded, adviser_took_part())
    high_risk = select(func.count().label("high_risk")).where(
        within(Case), Case.risk_level == RiskLevel.HIGH,
        Case.status.in_([CaseStatus.REGISTERED, CaseStatus.ACCEPTED, CaseStatus.MEDIATING]),
    )
    running = and_(
        True,
        *([Campaign.starts_on <= end] if end is not None else []),
        *([or_(Campaign.ends_on.is_(None), Campaign.ends_on >= start)] if start is not None else []),
    )
    campaigns = select(func.count().label("campaigns")).where(
        running, Campaign.id.in_(select(CampaignUnit.campaign_id).where(within(CampaignUnit)))
    )
    inspections = select(
        func.count().label("inspections"),
        func.coalesce(func.sum(case((Inspection.rectification == Rectification.PENDING, 1), else_=0)), 0).label("pending"),
    ).where(within(Inspection), _within(Inspection.inspected_on, start, end))
    existed = and_(
        True,
        *([PublicityTeam.formed_on <= end] if end is not None else []),
        *([or_(PublicityTeam.disbanded_on.is_(None), PublicityTeam.disbanded_on > start)] if start is not None else []),
    )
    teams = select(func.count().label("teams")).where(within(PublicityTeam), existed)
    events = select(
        func.count().label("events"), func.coalesce(func.sum(PublicityEvent.audience), 0).label("audience")
    ).where(within(PublicityEvent), _within(PublicityEvent.held_on, start, end))
    patrol_scope = and_(within(PatrolLog), _within(PatrolLog.patrolled_on, start, end))
    patrols = select(func.count().label("patrols")).where(patrol_scope)
    incidents = (
        select(
            func.count().label("incidents"),
            func.coalesce(func.sum(PatrolIncident.recovered_fen), 0).label("patrol_recovered"),
            func.coalesce(func.sum(PatrolIncident.losses_prevented_fen), 0).label("prevented"),
        )
        .join(PatrolLog, PatrolLog.id == PatrolIncident.patrol_id)
        .where(patrol_scope)
    )
    parts = (consultations, affairs, affairs_closed, registered, outcomes, with_adviser, high_risk, campaigns, inspections, teams,
             events, patrols, incidents)
    return _joined(*(part.subquery(f"part_{n}") for n, part in enumerate(parts)))


async def legal_figures(session: AsyncSession, *, identity: Identity, unit_id: str, start: date | None, end: date | None) -> LegalFigures:
    """Every figure of the unit's subtree (the unit must be in the caller's scope)."""
    path = await subtree_path(session, identity, unit_id)
    place, town = place_of(path)
    params = {"subtree": path, "start": start, "end": end, **town}
    row = (await session.execute(figures_query(start is None, end is None, place), params)).one()
    f = {key: int(value or 0) for key, value in row._mapping.items()}
    return LegalFigures(
        unit_id=unit_id,
        start=start,
        end=end,
        legal_consultations=f["consultations"],
        legal_affairs=f["affairs"],
        legal_affairs_closed=f["affairs_closed"],
        cases_registered=f["registered"],
        cases_mediated=f["agreed"] + f["failed"],
        disputes_mediated=f["with_adviser"],
        cases_by_outcome=CaseOutcomes(agreed=f["agreed"], failed=f["failed"]),
        cases_high_risk_open=f["high_risk"],
        adviser_recovered_fen=f["affairs_recovered"] + f["adviser_cases_recovered"],
        mediation_recovered_fen=f["mediation_recovered"],
        enforcement_campaigns=f["campaigns"],
        inspections=f["inspections"],
        rectifications_pending=f["pending"],
        publicity_teams=f["teams"],
        publicity_events=f["events"],
        publicity_audience=f["audience"],
        patrols=f["patrols"],
        patrol_incidents=f["incidents"],
        patrol_recovered_fen=f["patrol_recovered"],
        patrol_losses_prevented_fen=f["prevented"],
    )
