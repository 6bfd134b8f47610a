"""HTTP endpoints for the roster, balances and summaries under `/api/v1/points/members` and `/api/v1/points/balances`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from points_svc.db import grid
from points_svc.ledger import balances
from points_svc.members import service, summary
from points_svc.members.models import MemberBalance, MemberPublic, MemberSummary
from points_svc.periods import RATING_PERIOD_PATTERN, months_of
from shared.identity import CurrentIdentity
from shared.local_time import PERIOD_PATTERN
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/points", tags=["members and balances"])


@router.get("/members", response_model=Page[MemberPublic], summary="List party members")
async def list_members(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(description="only members of organisations under this unit")] = None,
    branch_unit_id: str | None = None,
    q: Annotated[str | None, Query(max_length=100, description="name contains")] = None,
    include_left: bool = False,
) -> Page[MemberPublic]:
    """The roster (kept from grid-svc's events) in the caller's scope, by branch and name."""
    async with db.session() as session:
        under_path = (await grid.get_in_scope(session, identity, under)).path if under else None
        statement = service.list_members_query(
            identity=identity, scope_path=await grid.scope_path(session, identity), under_path=under_path,
            branch_unit_id=branch_unit_id, name_contains=q, include_left=include_left,
        )
        rows, total = await paginate(session, statement, page)
    return Page(items=[MemberPublic.model_validate(m, from_attributes=True) for m in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/members/{member_id}", response_model=MemberPublic, summary="Read a party member")
async def read_member(member_id: str, db: DatabaseDep, identity: CurrentIdentity) -> MemberPublic:
    """One member of the roster; 404 when unknown or outside the caller's scope."""
    return MemberPublic.model_validate(await service.read_member(db, identity=identity, member_id=member_id), from_attributes=True)


@router.get("/members/{member_id}/balance", response_model=MemberBalance, summary="A member's points balance")
async def member_balance(
    member_id: str,
    db: DatabaseDep,
    identity: CurrentIdentity,
    from_period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    to_period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
) -> MemberBalance:
    """The member's points in total and per month: always the sum of their entries."""
    member = await service.read_member(db, identity=identity, member_id=member_id)
    return await balances.member_balance(db, member=member, from_period=from_period, to_period=to_period)


@router.get("/members/{member_id}/summary", response_model=MemberSummary, summary="A member's points at a glance")
async def member_summary(member_id: str, db: DatabaseDep, identity: CurrentIdentity) -> MemberSummary:
    """The member, their balance (as `GET /members/{id}/balance`), their newest 10 ledger entries with the
    total (as `GET /entries?member_id=&per_page=10`) and their latest rating in their branch (the first of
    `GET /ratings?branch_unit_id=&member_id=`, null when none was computed) — what the gateway's member
    profile needs from points-svc, in one answer. 404 when the member is unknown or outside scope."""
    return await summary.member_summary(db, identity=identity, member_id=member_id)


def _periods(period: str | None, span: str | None) -> list[str] | None:
    if period is not None:
        return [period]
    if span is not None:
        return months_of(span)
    return None


@router.get("/balances", response_model=Page[balances.MemberTotal], summary="Members' balances")
async def list_balances(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="one month")] = None,
    span: Annotated[str | None, Query(pattern=RATING_PERIOD_PATTERN, description="a year (2026) or quarter (2026-Q2)")] = None,
    under: str | None = None,
    branch_unit_id: str | None = None,
) -> Page[balances.MemberTotal]:
    """Each member's points in a month, quarter, year or all time, highest first."""
    subtree = await grid.list_subtree(db, identity, under)  # the caller's scope, or `under` inside it
    periods = _periods(period, span)
    query = balances.member_totals_page(subtree=subtree is not None, periods=periods is not None, branch=branch_unit_id is not None)
    params = {"subtree": subtree, "periods": periods, "branch_unit_id": branch_unit_id}
    rows, total = await query.fetch(db, page, {name: value for name, value in params.items() if value is not None})
    return Page(items=[balances.to_member_total(r) for r in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/balances/branches", response_model=Page[balances.BranchTotal], summary="Branches' balances")
async def list_branch_balances(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    span: Annotated[str | None, Query(pattern=RATING_PERIOD_PATTERN)] = None,
    under: str | None = None,
) -> Page[balances.BranchTotal]:
    """Each branch's points (all its entries) in a month, quarter, year or all time, highest first."""
    async with db.session() as session:
        under_path = (await grid.get_in_scope(session, identity, under)).path if under else None
        statement = balances.branch_totals_query(
            identity=identity, scope_path=await grid.scope_path(session, identity), periods=_periods(period, span), under_path=under_path
        )
        total = await session.scalar(balances.count_of(statement))
        rows = (await session.execute(statement.limit(page.per_page).offset(page.offset))).all()
    items = [balances.BranchTotal(branch_unit_id=r.branch_unit_id, members=r.members, points=int(r.points), entries=r.entries) for r in rows]
    return Page(items=items, total=int(total or 0), page=page.page, per_page=page.per_page)
