"""HTTP endpoints for live compliance reports under `/api/v1/grid/reports`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from grid_svc.reports import service
from grid_svc.reports.models import CadreLoad, ComplianceSummary, IncompleteTeam, MemberSummary, UnitSummary, UnlinkedMicroGrid
from grid_svc.units.service import get_unit
from shared.identity import CurrentIdentity
from shared.local_time import today
from shared.pagination import Page, PageDep, paginate_rows
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/grid/reports", tags=["reports"])

Under = Annotated[str, Query(description="the unit the report covers (its whole subtree)")]
On = Annotated[date | None, Query(description="the day (default today, Asia/Shanghai)")]


@router.get("/compliance", response_model=ComplianceSummary, summary="Compliance summary under a unit")
async def compliance(under: Under, db: DatabaseDep, identity: CurrentIdentity, on: On = None) -> ComplianceSummary:
    """Grids with an incomplete 1+1+1 team, cadres below 1 grid or 10 households, micro grids without a
    party-member liaison, and the share of households covered by a liaison."""
    async with db.session() as session:
        unit = await get_unit(session, identity=identity, unit_id=under)
        return await service.summary(session, under=unit, day=on or today())


@router.get("/unit-summary", response_model=UnitSummary, summary="A unit at a glance: counts, team and compliance")
async def unit_summary(under: Under, db: DatabaseDep, identity: CurrentIdentity, on: On = None) -> UnitSummary:
    """The unit, its active units per level below, the current party members of its subtree, the role
    assignments on the unit itself in force today, and the compliance summary of the subtree on `on` —
    everything the gateway's unit overview and town dashboard need from the registry, in one answer."""
    return await service.unit_summary(db, identity=identity, unit_id=under, day=on or today())


@router.get("/member-summary", response_model=MemberSummary, summary="A party member with their roles and liaisons")
async def member_summary(
    member_id: Annotated[str, Query(max_length=26)], db: DatabaseDep, identity: CurrentIdentity
) -> MemberSummary:
    """The member, the role assignments of their person and the liaison links of the member or their
    person in force today (those on units in the caller's scope) — what the gateway's member profile needs
    from the registry, in one answer. 404 when the member is unknown or outside scope."""
    return await service.member_summary(db, identity=identity, member_id=member_id)


@router.get("/incomplete-teams", response_model=Page[IncompleteTeam], summary="Grids whose 1+1+1 team is incomplete")
async def incomplete_teams(under: Under, db: DatabaseDep, identity: CurrentIdentity, page: PageDep, on: On = None) -> Page[IncompleteTeam]:
    """Grids lacking a grid leader, grid worker or grid assistant on the day, with the missing roles."""
    async with db.session() as session:
        unit = await get_unit(session, identity=identity, unit_id=under)
        rows, total = await paginate_rows(session, service.incomplete_teams_query(unit, on or today()), page)
    return Page(items=[service.to_incomplete(r) for r in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/cadres", response_model=Page[CadreLoad], summary="Cadres and their grids and households")
async def cadres(
    under: Under, db: DatabaseDep, identity: CurrentIdentity, page: PageDep, on: On = None, below_minimum: bool = True
) -> Page[CadreLoad]:
    """Cadres assigned under the unit; by default only those below 1 grid or 10 households."""
    async with db.session() as session:
        unit = await get_unit(session, identity=identity, unit_id=under)
        statement = service.cadre_loads_query(unit, on or today(), below_minimum_only=below_minimum)
        rows, total = await paginate_rows(session, statement, page)
    return Page(items=[service.to_cadre_load(r) for r in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/micro-grids-without-liaison", response_model=Page[UnlinkedMicroGrid], summary="Micro grids without a member liaison")
async def unlinked_micro_grids(under: Under, db: DatabaseDep, identity: CurrentIdentity, page: PageDep, on: On = None) -> Page[UnlinkedMicroGrid]:
    """Micro grids where no household has a party-member liaison (党员联系户) on the day."""
    async with db.session() as session:
        unit = await get_unit(session, identity=identity, unit_id=under)
        rows, total = await paginate_rows(session, service.unlinked_micro_grids_query(unit, on or today()), page)
    return Page(items=[service.to_unlinked(r) for r in rows], total=total, page=page.page, per_page=page.per_page)
