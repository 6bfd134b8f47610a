"""HTTP endpoints for party organisations and members under `/api/v1/grid/party`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from grid_svc.db import platform
from grid_svc.party import service
from grid_svc.party.models import (
    MemberStatus,
    OrgKind,
    PartyMemberCreate,
    PartyMemberLeave,
    PartyMemberPublic,
    PartyMemberUpdate,
    PartyOrgPublic,
    PartyOrgRename,
)
from grid_svc.units.service import get_unit, scope_path_of
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate_rows
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/grid/party", tags=["party"])


@router.get("/orgs", response_model=Page[PartyOrgPublic], summary="List party organisations in scope")
async def list_orgs(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(description="only organisations in this unit's subtree")] = None,
    kind: OrgKind | None = None,
) -> Page[PartyOrgPublic]:
    """The committee, branches and groups mirroring the units in scope, ordered by unit path."""
    async with db.session() as session:
        under_unit = await get_unit(session, identity=identity, unit_id=under) if under else None
        statement = service.list_orgs_query(identity=identity, scope_path=await scope_path_of(session, identity), under=under_unit, kind=kind)
        rows, total = await paginate_rows(session, statement, page)
    return Page(items=[service.org_public(o, u, n) for o, u, n in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/orgs/{org_id}", response_model=PartyOrgPublic, summary="Read a party organisation")
async def read_org(org_id: str, db: DatabaseDep, identity: CurrentIdentity) -> PartyOrgPublic:
    """One organisation with the unit it mirrors."""
    async with db.session() as session:
        org, unit = await service.get_org(session, identity=identity, org_id=org_id)
    return service.org_public(org, unit)


@router.patch("/orgs/{org_id}", response_model=PartyOrgPublic, summary="Rename a party organisation")
async def rename_org(org_id: str, body: PartyOrgRename, db: DatabaseDep, identity: CurrentIdentity) -> PartyOrgPublic:
    """Replace the default name (unit name + 党委/党支部/党小组) with the official one."""
    async with db.transaction() as session:
        org, unit = await service.rename_org(session, identity=identity, org_id=org_id, name=body.name)
    return service.org_public(org, unit)


@router.post("/members", status_code=201, response_model=PartyMemberPublic, summary="Record a party member")
async def join_member(body: PartyMemberCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """A registered person joins an organisation (by `party_org_id`, or by `unit_id` of its town/village/grid).

    A person with a current membership answers 409 `already_member`: record a transfer as leave + join.
    """

    async def create(session):
        member = await service.join_member(session, identity=identity, data=body)
        await session.flush()
        return await service.member_public(session, member)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/members", response_model=Page[PartyMemberPublic], summary="List party members in scope")
async def list_members(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(description="only members of organisations in this unit's subtree")] = None,
    org_id: Annotated[str | None, Query(max_length=26)] = None,
    status: MemberStatus | None = None,
    include_left: bool = False,
    q: Annotated[str | None, Query(max_length=50, description="name contains")] = None,
) -> Page[PartyMemberPublic]:
    """Current members (and former ones with `include_left`), ordered by name."""
    async with db.session() as session:
        under_unit = await get_unit(session, identity=identity, unit_id=under) if under else None
        statement = service.list_members_query(
            identity=identity,
            scope_path=await scope_path_of(session, identity),
            under=under_unit,
            org_id=org_id,
            status=status,
            current_only=not include_left,
            q=q,
        )
        rows, total = await paginate_rows(session, statement, page)
    return Page(items=[service.to_member_public(m, n, o) for m, n, o in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/members/{member_id}", response_model=PartyMemberPublic, summary="Read a party member")
async def read_member(member_id: str, db: DatabaseDep, identity: CurrentIdentity) -> PartyMemberPublic:
    """One member with the names of the person and organisation."""
    return PartyMemberPublic.model_validate(await service.read_member(db, identity=identity, member_id=member_id), from_attributes=True)


@router.patch("/members/{member_id}", response_model=PartyMemberPublic, summary="Change a member's status")
async def update_member(member_id: str, body: PartyMemberUpdate, db: DatabaseDep, identity: CurrentIdentity) -> PartyMemberPublic:
    """A probationary member becomes full (or a correction)."""
    async with db.transaction() as session:
        member = await service.set_status(session, identity=identity, member_id=member_id, status=body.status)
        return await service.member_public(session, member)


@router.post("/members/{member_id}/leave", response_model=PartyMemberPublic, summary="A member leaves")
async def leave(member_id: str, body: PartyMemberLeave, db: DatabaseDep, identity: CurrentIdentity) -> PartyMemberPublic:
    """End a membership on `left_on` (transfer, death …); the member's household links end the same day."""
    async with db.transaction() as session:
        member = await service.leave(session, identity=identity, member_id=member_id, left_on=body.left_on, reason=body.reason)
        return await service.member_public(session, member)
