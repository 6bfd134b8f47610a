"""HTTP endpoints for publicity teams, members and events under `/api/v1/legal`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from legal_svc.db import platform
from legal_svc.listing import page_of
from legal_svc.periods import PeriodDep
from legal_svc.publicity import service
from legal_svc.publicity.models import (
    EventCreate,
    EventPublic,
    MemberCreate,
    MemberPublic,
    TeamCreate,
    TeamDisband,
    TeamKind,
    TeamPublic,
)
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/legal", tags=["publicity"])

Under = Annotated[str | None, Query(max_length=26, description="only records in this unit's subtree")]


class MemberLeave(BaseModel):
    """A member leaves the team."""

    left_on: date


@router.post("/publicity-teams", status_code=201, response_model=TeamPublic, summary="Form a publicity team")
async def create_team(body: TeamCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """A lecturer group, volunteer team or group of legal-savvy villagers."""

    async def create(session):
        team = await service.create_team(session, identity=identity, data=body)
        return (await service.teams_public(session, [team]))[0]

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/publicity-teams", response_model=Page[TeamPublic], summary="List publicity teams")
async def list_teams(
    db: DatabaseDep, identity: CurrentIdentity, page: PageDep, under: Under = None, kind: TeamKind | None = None, active_on: date | None = None
) -> Page[TeamPublic]:
    """Teams in scope, by kind then name; `active_on` keeps those formed and not disbanded that day."""
    async with db.session() as session:
        statement = await service.list_teams_query(session, identity=identity, under=under, kind=kind, active_on=active_on)
        rows, total = await paginate(session, statement, page)
        items = await service.teams_public(session, rows)
    return page_of(items, total, page)


@router.get("/publicity-teams/{team_id}", response_model=TeamPublic, summary="Read a publicity team")
async def read_team(team_id: str, db: DatabaseDep, identity: CurrentIdentity) -> TeamPublic:
    """One team with its current member count."""
    async with db.session() as session:
        team = await service.get_team(session, identity=identity, team_id=team_id)
        return (await service.teams_public(session, [team]))[0]


@router.post("/publicity-teams/{team_id}/disband", response_model=TeamPublic, summary="Disband a publicity team")
async def disband_team(team_id: str, body: TeamDisband, db: DatabaseDep, identity: CurrentIdentity) -> TeamPublic:
    """Disband a team from a date; its history stays."""
    async with db.transaction() as session:
        team = await service.disband_team(session, identity=identity, team_id=team_id, disbanded_on=body.disbanded_on)
        return (await service.teams_public(session, [team]))[0]


@router.post("/publicity-teams/{team_id}/members", status_code=201, response_model=MemberPublic, summary="Add a team member")
async def add_member(team_id: str, body: MemberCreate, db: DatabaseDep, identity: CurrentIdentity) -> MemberPublic:
    """Add a member to a team that has not been disbanded."""
    async with db.transaction() as session:
        member = await service.add_member(session, identity=identity, team_id=team_id, data=body)
    return MemberPublic.model_validate(member, from_attributes=True)


@router.post("/publicity-teams/{team_id}/members/{member_id}/leave", response_model=MemberPublic, summary="A member leaves a team")
async def remove_member(team_id: str, member_id: str, body: MemberLeave, db: DatabaseDep, identity: CurrentIdentity) -> MemberPublic:
    """Record the day a member left."""
    async with db.transaction() as session:
        member = await service.remove_member(session, identity=identity, team_id=team_id, member_id=member_id, left_on=body.left_on)
    return MemberPublic.model_validate(member, from_attributes=True)


@router.get("/publicity-teams/{team_id}/members", response_model=Page[MemberPublic], summary="List a team's members")
async def list_members(
    team_id: str, db: DatabaseDep, identity: CurrentIdentity, page: PageDep, current_only: bool = True
) -> Page[MemberPublic]:
    """A team's members by name (current ones only unless `current_only=false`)."""
    async with db.session() as session:
        team = await service.get_team(session, identity=identity, team_id=team_id)
        rows, total = await paginate(session, service.members_query(team.id, current_only=current_only), page)
    return page_of([MemberPublic.model_validate(m, from_attributes=True) for m in rows], total, page)


@router.post("/publicity-events", status_code=201, response_model=EventPublic, summary="Record a publicity event")
async def record_event(body: EventCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """A publicity event: theme, unit, date, audience reached and materials handed out."""

    async def create(session):
        event = await service.record_event(session, identity=identity, data=body)
        return EventPublic.model_validate(event, from_attributes=True)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/publicity-events", response_model=Page[EventPublic], summary="List publicity events")
async def list_events(
    db: DatabaseDep, identity: CurrentIdentity, page: PageDep, period: PeriodDep, under: Under = None, team_id: str | None = None
) -> Page[EventPublic]:
    """Events in scope in the period, newest first."""
    async with db.session() as session:
        statement = await service.list_events_query(session, identity=identity, under=under, team_id=team_id, start=period.start, end=period.end)
        rows, total = await paginate(session, statement, page)
    return page_of([EventPublic.model_validate(e, from_attributes=True) for e in rows], total, page)
