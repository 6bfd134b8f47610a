"""Patrol use cases: teams over village clusters, auxiliary officers per village, patrol logs with incidents."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.access import require_legal_staff, sees_personal_data
from legal_svc.patrols.models import (
    AuxiliaryOfficer,
    IncidentKind,
    IncidentPublic,
    OfficerCreate,
    OfficerPublic,
    PatrolCreate,
    PatrolIncident,
    PatrolLog,
    PatrolPublic,
    PatrolTeam,
    PatrolTeamVillage,
    TeamCreate,
    TeamPublic,
)
from legal_svc.units import load_in_scope, scoped, unit_for_write
from shared.events.legal import PatrolLogged
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import SHANGHAI
from shared.outbox import emit
from shared.personal_data import mask_phone
from shared.problems import conflict, unprocessable
from shared.scope import town_of

# --- teams ------------------------------------------------------------------------------------


async def teams_public(session: AsyncSession, teams: Sequence[PatrolTeam]) -> list[TeamPublic]:
    """Teams with their village clusters (one query for a whole page)."""
    villages: dict[str, list[str]] = defaultdict(list)
    ids = [t.id for t in teams]
    if ids:
        for team_id, unit_id in await session.execute(
            select(PatrolTeamVillage.team_id, PatrolTeamVillage.unit_id).where(PatrolTeamVillage.team_id.in_(ids)).order_by(PatrolTeamVillage.unit_id)
        ):
            villages[team_id].append(unit_id)
    return [TeamPublic(**t.model_dump(), village_ids=villages[t.id]) for t in teams]


async def create_team(session: AsyncSession, *, identity: Identity, data: TeamCreate) -> PatrolTeam:
    """Form a patrol team over villages under its unit."""
    require_legal_staff(identity)
    unit = await unit_for_write(session, identity, data.unit_id)
    village_ids = list(dict.fromkeys(data.village_ids))
    for index, village_id in enumerate(village_ids):
        village = await unit_for_write(session, identity, village_id, field=f"village_ids.{index}")
        if village.level != "village" or not village.path.startswith(unit.path):
            raise unprocessable("each village must be a village under the team's unit", code="invalid_level", loc=["body", "village_ids", index])
    team = PatrolTeam(id=new_id(), name=data.name, unit_id=unit.id, formed_on=data.formed_on, created_at=datetime.now(UTC))
    session.add(team)
    await session.flush()
    for village_id in village_ids:
        session.add(PatrolTeamVillage(team_id=team.id, unit_id=village_id))
    return team


async def get_team(session: AsyncSession, *, identity: Identity, team_id: str) -> PatrolTeam:
    """A team in scope, else 404."""
    return await load_in_scope(session, identity, PatrolTeam, team_id, "patrol team")


async def list_teams_query(session: AsyncSession, *, identity: Identity, under: str | None) -> Select:
    """Teams in scope by name."""
    statement = await scoped(session, select(PatrolTeam), PatrolTeam.unit_id, identity, under)
    return statement.order_by(PatrolTeam.name, PatrolTeam.id)


# --- auxiliary officers -----------------------------------------------------------------------


def officer_public(officer: AuxiliaryOfficer, *, full: bool) -> OfficerPublic:
    """A posting; the phone whole only for single reads by roles that need it."""
    return OfficerPublic(**officer.model_dump(exclude={"phone"}), phone=officer.phone if full else mask_phone(officer.phone))


async def post_officer(session: AsyncSession, *, identity: Identity, data: OfficerCreate) -> AuxiliaryOfficer:
    """Post an auxiliary officer to a village; a village has one at a time (409 `overlapping_posting`)."""
    require_legal_staff(identity)
    village = await unit_for_write(session, identity, data.unit_id)
    if village.level != "village":
        raise unprocessable("auxiliary officers are posted to villages", code="invalid_level", loc=["body", "unit_id"])
    overlapping = await session.scalar(
        select(AuxiliaryOfficer.id).where(
            AuxiliaryOfficer.unit_id == village.id,
            AuxiliaryOfficer.starts_on <= (data.ends_on or date.max),
            or_(AuxiliaryOfficer.ends_on.is_(None), AuxiliaryOfficer.ends_on >= data.starts_on),
        )
    )
    if overlapping is not None:
        raise conflict("the village already has an auxiliary officer in that period", code="overlapping_posting")
    officer = AuxiliaryOfficer(id=new_id(), **data.model_dump())
    session.add(officer)
    return officer


async def get_officer(session: AsyncSession, *, identity: Identity, officer_id: str) -> AuxiliaryOfficer:
    """A posting in scope, else 404."""
    return await load_in_scope(session, identity, AuxiliaryOfficer, officer_id, "auxiliary officer")


async def end_posting(session: AsyncSession, *, identity: Identity, officer_id: str, ends_on: date) -> AuxiliaryOfficer:
    """End a posting on a date."""
    require_legal_staff(identity)
    officer = await get_officer(session, identity=identity, officer_id=officer_id)
    if ends_on < officer.starts_on:
        raise unprocessable("ends_on is before the posting started", loc=["body", "ends_on"])
    officer.ends_on = ends_on
    return officer


async def list_officers_query(session: AsyncSession, *, identity: Identity, under: str | None, active_on: date | None) -> Select:
    """Postings in scope, by village then start."""
    statement = await scoped(session, select(AuxiliaryOfficer), AuxiliaryOfficer.unit_id, identity, under)
    if active_on is not None:
        statement = statement.where(
            AuxiliaryOfficer.starts_on <= active_on, or_(AuxiliaryOfficer.ends_on.is_(None), AuxiliaryOfficer.ends_on >= active_on)
        )
    return statement.order_by(AuxiliaryOfficer.unit_id, AuxiliaryOfficer.starts_on, AuxiliaryOfficer.id)


def officer_full_for(identity: Identity) -> bool:
    """Whether a single posting read shows the phone whole."""
    return sees_personal_data(identity)


# --- patrol logs ------------------------------------------------------------------------------


async def patrols_public(session: AsyncSession, patrols: Sequence[PatrolLog]) -> list[PatrolPublic]:
    """Patrol logs with their incidents and totals (one query for a whole page)."""
    incidents: dict[str, list[PatrolIncident]] = defaultdict(list)
    ids = [p.id for p in patrols]
    if ids:
        for incident in (await session.execute(select(PatrolIncident).where(PatrolIncident.patrol_id.in_(ids)).order_by(PatrolIncident.id))).scalars():
            incidents[incident.patrol_id].append(incident)
    return [
        PatrolPublic(
            **p.model_dump(exclude={"recorded_by"}),
            incidents=[IncidentPublic.model_validate(i, from_attributes=True) for i in incidents[p.id]],
            losses_prevented_fen=sum(i.losses_prevented_fen for i in incidents[p.id]),
            recovered_fen=sum(i.recovered_fen for i in incidents[p.id]),
        )
        for p in patrols
    ]


async def log_patrol(session: AsyncSession, *, identity: Identity, data: PatrolCreate) -> PatrolLog:
    """Log a patrol of a village in the team's cluster with its incidents; emit PatrolLogged."""
    require_legal_staff(identity)
    unit = await unit_for_write(session, identity, data.unit_id)
    # A town's team patrols villages: the village in scope logs it, so the team need only exist.
    team = await session.get(PatrolTeam, data.team_id)
    if team is None:
        raise unprocessable("no such patrol team", code="unknown_team", loc=["body", "team_id"])
    in_cluster = await session.scalar(
        select(PatrolTeamVillage.unit_id).where(PatrolTeamVillage.team_id == team.id, PatrolTeamVillage.unit_id == unit.id)
    )
    if in_cluster is None:
        raise unprocessable("the village is not in the team's cluster", code="outside_cluster", loc=["body", "unit_id"])
    patrolled_on = data.started_at.astimezone(SHANGHAI).date()
    if patrolled_on < team.formed_on:
        raise unprocessable("the team was not yet formed", loc=["body", "started_at"])
    patrol = PatrolLog(
        id=new_id(),
        team_id=team.id,
        unit_id=unit.id,
        town_unit_id=town_of(unit.path),
        patrolled_on=patrolled_on,
        started_at=data.started_at,
        ended_at=data.ended_at,
        route=data.route,
        publicity=data.publicity,
        people_reached=data.people_reached,
        recorded_by=identity.subject,
        created_at=datetime.now(UTC),
    )
    session.add(patrol)
    await session.flush()
    for incident in data.incidents:
        session.add(PatrolIncident(id=new_id(), patrol_id=patrol.id, **incident.model_dump()))
    emit(
        session,
        PatrolLogged(
            patrol_id=patrol.id,
            unit_id=unit.id,
            unit_path=unit.path,
            patrolled_on=patrolled_on,
            incidents=len(data.incidents),
            recovered_fen=sum(i.recovered_fen for i in data.incidents),
        ),
    )
    return patrol


async def get_patrol(session: AsyncSession, *, identity: Identity, patrol_id: str) -> PatrolLog:
    """A patrol log in scope, else 404."""
    return await load_in_scope(session, identity, PatrolLog, patrol_id, "patrol")


async def list_patrols_query(
    session: AsyncSession,
    *,
    identity: Identity,
    under: str | None,
    team_id: str | None,
    incident_kind: IncidentKind | None,
    start: date | None,
    end: date | None,
) -> Select:
    """Patrol logs in scope in the period, newest first."""
    statement = await scoped(session, select(PatrolLog), PatrolLog.unit_id, identity, under)
    if team_id is not None:
        statement = statement.where(PatrolLog.team_id == team_id)
    if incident_kind is not None:
        statement = statement.where(
            PatrolLog.id.in_(select(PatrolIncident.patrol_id).where(PatrolIncident.kind == incident_kind))
        )
    if start is not None:
        statement = statement.where(PatrolLog.patrolled_on >= start)
    if end is not None:
        statement = statement.where(PatrolLog.patrolled_on <= end)
    return statement.order_by(PatrolLog.started_at.desc(), PatrolLog.id.desc())
