"""HTTP endpoints for liaison links under `/api/v1/grid/liaisons`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from grid_svc.db import platform
from grid_svc.liaisons import service
from grid_svc.liaisons.models import LiaisonCreate, LiaisonEnd, LiaisonKind, LiaisonPublic
from grid_svc.units.service import get_unit, scope_path_of
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate_rows
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/grid/liaisons", tags=["liaisons"])


@router.post("", status_code=201, response_model=LiaisonPublic, summary="Link a member or cadre")
async def link(body: LiaisonCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Create a dated link: a party member ↔ household (党员联系户), a cadre ↔ grid, a cadre ↔ household.

    Cadre links need a current `cadre` assignment (422 `not_a_cadre`); a link in force twice answers
    409 `already_linked`.
    """

    async def create(session):
        created = await service.link(session, identity=identity, data=body)
        await session.flush()
        return await service.liaison_public(session, created)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("", response_model=Page[LiaisonPublic], summary="List liaison links in scope")
async def list_liaisons(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(description="only links on units in this subtree")] = None,
    kind: LiaisonKind | None = None,
    person_id: Annotated[str | None, Query(max_length=26)] = None,
    member_id: Annotated[str | None, Query(max_length=26)] = None,
    household_id: Annotated[str | None, Query(max_length=26)] = None,
    include_ended: bool = False,
) -> Page[LiaisonPublic]:
    """Links in force today (all of them with `include_ended`), ordered by person name."""
    async with db.session() as session:
        under_unit = await get_unit(session, identity=identity, unit_id=under) if under else None
        statement = service.list_query(
            identity=identity,
            scope_path=await scope_path_of(session, identity),
            under=under_unit,
            kind=kind,
            person_id=person_id,
            member_id=member_id,
            household_id=household_id,
            current_only=not include_ended,
        )
        rows, total = await paginate_rows(session, statement, page)
    return Page(items=[service.to_public(*row) for row in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/{liaison_id}", response_model=LiaisonPublic, summary="Read a liaison link")
async def read_liaison(liaison_id: str, db: DatabaseDep, identity: CurrentIdentity) -> LiaisonPublic:
    """One link with names."""
    async with db.session() as session:
        existing = await service.get_liaison(session, identity=identity, liaison_id=liaison_id)
        return await service.liaison_public(session, existing)


@router.post("/{liaison_id}/end", response_model=LiaisonPublic, summary="End a liaison link")
async def unlink(liaison_id: str, body: LiaisonEnd, db: DatabaseDep, identity: CurrentIdentity) -> LiaisonPublic:
    """End the link on `ended_on` (default today); it stays in the history."""
    async with db.transaction() as session:
        existing = await service.unlink(session, identity=identity, liaison_id=liaison_id, ended_on=body.ended_on)
        return await service.liaison_public(session, existing)
