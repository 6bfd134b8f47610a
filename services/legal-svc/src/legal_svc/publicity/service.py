"""Publicity use cases: form teams, keep their members, record events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.access import require_legal_staff
from legal_svc.publicity.models import (
    EventCreate,
    MemberCreate,
    PublicityEvent,
    PublicityTeam,
    PublicityTeamMember,
    TeamCreate,
    TeamKind,
    TeamPublic,
)
from legal_svc.units import load_in_scope, scoped, unit_for_write
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import today
from shared.problems import conflict, not_found, unprocessable
from shared.scope import town_of


async def teams_public(session: AsyncSession, teams: Sequence[PublicityTeam]) -> list[TeamPublic]:
    """Teams with their current member counts (one query for a whole page)."""
    ids = [t.id for t in teams]
    counts: dict[str, int] = {}
    if ids:
        now = today()
        counts = dict(
            (
                await session.execute(
                    select(PublicityTeamMember.team_id, func.count())
                    .where(
                        PublicityTeamMember.team_id.in_(ids),
                        or_(PublicityTeamMember.left_on.is_(None), PublicityTeamMember.left_on > now),
                    )
                    .group_by(PublicityTeamMember.team_id)
                )
            ).all()
        )
    return [TeamPublic(**t.model_dump(), members=counts.get(t.id, 0)) for t in teams]


async def create_team(session: AsyncSession, *, identity: Identity, data: TeamCreate) -> PublicityTeam:
    """Form a publicity team in a unit in scope."""
    require_legal_staff(identity)
    unit = await unit_for_write(session, identity, data.unit_id)
    team = PublicityTeam(id=new_id(), created_at=datetime.now(UTC), town_unit_id=town_of(unit.path), **data.model_dump())
    session.add(team)
    return team


async def get_team(session: AsyncSession, *, identity: Identity, team_id: str) -> PublicityTeam:
    """A team in scope, else 404."""
    return await load_in_scope(session, identity, PublicityTeam, team_id, "publicity team")


async def disband_team(session: AsyncSession, *, identity: Identity, team_id: str, disbanded_on: date) -> PublicityTeam:
    """Disband a team from a date."""
    require_legal_staff(identity)
    team = await get_team(session, identity=identity, team_id=team_id)
    if team.disbanded_on is not None:
        raise conflict("the team is already disbanded", code="invalid_transition")
    if disbanded_on < team.formed_on:
        raise unprocessable("disbanded_on is before the team was formed", loc=["body", "disbanded_on"])
    team.disbanded_on = disbanded_on
    return team


async def list_teams_query(
    session: AsyncSession, *, identity: Identity, under: str | None, kind: TeamKind | None, active_on: date | None
) -> Select:
    """Teams in scope, by kind then name."""
    statement = await scoped(session, select(PublicityTeam), PublicityTeam.unit_id, identity, under)
    if kind is not None:
        statement = statement.where(PublicityTeam.kind == kind)
    if active_on is not None:
        statement = statement.where(
            PublicityTeam.formed_on <= active_on, or_(PublicityTeam.disbanded_on.is_(None), PublicityTeam.disbanded_on > active_on)
        )
    return statement.order_by(PublicityTeam.kind, PublicityTeam.name, PublicityTeam.id)


async def add_member(session: AsyncSession, *, identity: Identity, team_id: str, data: MemberCreate) -> PublicityTeamMember:
    """Add a member to a team."""
    require_legal_staff(identity)
    team = await get_team(session, identity=identity, team_id=team_id)
    if team.disbanded_on is not None:
        raise conflict("the team is disbanded", code="team_disbanded")
    member = PublicityTeamMember(id=new_id(), team_id=team.id, **data.model_dump())
    session.add(member)
    return member


async def remove_member(session: AsyncSession, *, identity: Identity, team_id: str, member_id: str, left_on: date) -> PublicityTeamMember:
    """A member left the team on a date (history stays)."""
    require_legal_staff(identity)
    team = await get_team(session, identity=identity, team_id=team_id)
    member = await session.get(PublicityTeamMember, member_id)
    if member is None or member.team_id != team.id:
        raise not_found("team member")
    if left_on < member.joined_on:
        raise unprocessable("left_on is before the member joined", loc=["body", "left_on"])
    member.left_on = left_on
    return member


def members_query(team_id: str, *, current_only: bool) -> Select:
    """A team's members by name."""
    statement = select(PublicityTeamMember).where(PublicityTeamMember.team_id == team_id)
    if current_only:
        statement = statement.where(or_(PublicityTeamMember.left_on.is_(None), PublicityTeamMember.left_on > today()))
    return statement.order_by(PublicityTeamMember.name, PublicityTeamMember.id)


async def record_event(session: AsyncSession, *, identity: Identity, data: EventCreate) -> PublicityEvent:
    """Record a publicity event in a unit in scope (by a team, if given)."""
    require_legal_staff(identity)
    unit = await unit_for_write(session, identity, data.unit_id)
    if data.team_id is not None:
        # Town teams speak in villages: the village records the event, so the team need only exist.
        team = await session.get(PublicityTeam, data.team_id)
        if team is None:
            raise unprocessable("no such publicity team", code="unknown_team", loc=["body", "team_id"])
        if data.held_on < team.formed_on or (team.disbanded_on is not None and data.held_on >= team.disbanded_on):
            raise unprocessable("the team did not exist on that day", loc=["body", "held_on"])
    event = PublicityEvent(id=new_id(), created_at=datetime.now(UTC), town_unit_id=town_of(unit.path), **data.model_dump())
    session.add(event)
    return event


async def list_events_query(
    session: AsyncSession, *, identity: Identity, under: str | None, team_id: str | None, start: date | None, end: date | None
) -> Select:
    """Publicity events in scope in the period, newest first."""
    statement = await scoped(session, select(PublicityEvent), PublicityEvent.unit_id, identity, under)
    if team_id is not None:
        statement = statement.where(PublicityEvent.team_id == team_id)
    if start is not None:
        statement = statement.where(PublicityEvent.held_on >= start)
    if end is not None:
        statement = statement.where(PublicityEvent.held_on <= end)
    return statement.order_by(PublicityEvent.held_on.desc(), PublicityEvent.id.desc())
