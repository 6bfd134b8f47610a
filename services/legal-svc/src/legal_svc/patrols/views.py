"""HTTP endpoints for patrol teams, auxiliary officers and patrol logs under `/api/v1/legal`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from legal_svc.db import platform
from legal_svc.listing import page_of
from legal_svc.patrols import service
from legal_svc.patrols.models import (
    IncidentKind,
    OfficerCreate,
    OfficerEnd,
    OfficerPublic,
    PatrolCreate,
    PatrolPublic,
    TeamCreate,
    TeamPublic,
)
from legal_svc.periods import PeriodDep
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/legal", tags=["patrols"])

Under = Annotated[str | None, Query(max_length=26, description="only records in this unit's subtree")]


@router.post("/patrol-teams", status_code=201, response_model=TeamPublic, summary="Form a patrol team")
async def create_team(body: TeamCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """A team patrolling a cluster of villages under its unit."""

    async def create(session):
        team = await service.create_team(session, identity=identity, data=body)
        return (await service.teams_public(session, [team]))[0]

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/patrol-teams", response_model=Page[TeamPublic], summary="List patrol teams")
async def list_teams(db: DatabaseDep, identity: CurrentIdentity, page: PageDep, under: Under = None) -> Page[TeamPublic]:
    """Teams in scope by name, with their villages."""
    async with db.session() as session:
        rows, total = await paginate(session, await service.list_teams_query(session, identity=identity, under=under), page)
        items = await service.teams_public(session, rows)
    return page_of(items, total, page)


@router.get("/patrol-teams/{team_id}", response_model=TeamPublic, summary="Read a patrol team")
async def read_team(team_id: str, db: DatabaseDep, identity: CurrentIdentity) -> TeamPublic:
    """One team with its villages."""
    async with db.session() as session:
        team = await service.get_team(session, identity=identity, team_id=team_id)
        return (await service.teams_public(session, [team]))[0]


@router.post("/auxiliary-officers", status_code=201, response_model=OfficerPublic, summary="Post an auxiliary police officer")
async def post_officer(body: OfficerCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """One auxiliary officer per village at a time (一村一辅警); overlapping postings answer 409 `overlapping_posting`."""

    async def create(session):
        return service.officer_public(await service.post_officer(session, identity=identity, data=body), full=False)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/auxiliary-officers", response_model=Page[OfficerPublic], summary="List auxiliary officers")
async def list_officers(
    db: DatabaseDep, identity: CurrentIdentity, page: PageDep, under: Under = None, active_on: date | None = None
) -> Page[OfficerPublic]:
    """Postings in scope (phones masked), by village then start date."""
    async with db.session() as session:
        statement = await service.list_officers_query(session, identity=identity, under=under, active_on=active_on)
        rows, total = await paginate(session, statement, page)
    return page_of([service.officer_public(o, full=False) for o in rows], total, page)


@router.get("/auxiliary-officers/{officer_id}", response_model=OfficerPublic, summary="Read an auxiliary officer's posting")
async def read_officer(officer_id: str, db: DatabaseDep, identity: CurrentIdentity) -> OfficerPublic:
    """One posting; the phone is whole only for roles that handle legal work in person."""
    async with db.session() as session:
        officer = await service.get_officer(session, identity=identity, officer_id=officer_id)
    return service.officer_public(officer, full=service.officer_full_for(identity))


@router.post("/auxiliary-officers/{officer_id}/end", response_model=OfficerPublic, summary="End a posting")
async def end_posting(officer_id: str, body: OfficerEnd, db: DatabaseDep, identity: CurrentIdentity) -> OfficerPublic:
    """End an auxiliary officer's posting on a date."""
    async with db.transaction() as session:
        officer = await service.end_posting(session, identity=identity, officer_id=officer_id, ends_on=body.ends_on)
    return service.officer_public(officer, full=False)


@router.post("/patrols", status_code=201, response_model=PatrolPublic, summary="Log a patrol")
async def log_patrol(body: PatrolCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Log a patrol (route, times, publicity given, incidents with losses prevented or recovered in fen);
    emits `patrol.logged`."""

    async def create(session):
        patrol = await service.log_patrol(session, identity=identity, data=body)
        return (await service.patrols_public(session, [patrol]))[0]

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/patrols", response_model=Page[PatrolPublic], summary="List patrol logs")
async def list_patrols(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    period: PeriodDep,
    under: Under = None,
    team_id: str | None = None,
    incident_kind: IncidentKind | None = None,
) -> Page[PatrolPublic]:
    """Patrol logs in scope in the period (by date in Asia/Shanghai), newest first."""
    async with db.session() as session:
        statement = await service.list_patrols_query(
            session, identity=identity, under=under, team_id=team_id, incident_kind=incident_kind, start=period.start, end=period.end
        )
        rows, total = await paginate(session, statement, page)
        items = await service.patrols_public(session, rows)
    return page_of(items, total, page)


@router.get("/patrols/{patrol_id}", response_model=PatrolPublic, summary="Read a patrol log")
async def read_patrol(patrol_id: str, db: DatabaseDep, identity: CurrentIdentity) -> PatrolPublic:
    """One patrol log with its incidents."""
    async with db.session() as session:
        patrol = await service.get_patrol(session, identity=identity, patrol_id=patrol_id)
        return (await service.patrols_public(session, [patrol]))[0]
