"""Balances: members' points per month, kept with every entry, summed for any span of months."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.ledger.models import Balance, Entry
from points_svc.members.models import Member, MemberBalance, PeriodBalance
from shared.database import Database
from shared.identity import Identity
from shared.pagination import PagedQuery
from shared.scope import in_named_subtree, in_subtree, scope_condition


class MemberTotal(BaseModel):
    """A member's points over a span of months."""

    member_id: str
    name: str
    branch_unit_id: str
    town_unit_id: str | None
    points: int
    entries: int


class BranchTotal(BaseModel):
    """A branch's points over a span of months."""

    branch_unit_id: str
    members: int
    points: int
    entries: int


# Open ends bind the widest periods, so one prebuilt statement serves every span.
BALANCES_OF = (
    select(Balance.period, Balance.points, Balance.entries)
    .where(Balance.member_id == bindparam("member_id"), Balance.period.between(bindparam("first"), bindparam("last")))
    .order_by(Balance.period)
)


async def member_balance(db: Database, *, member: Member | Row, from_period: str | None, to_period: str | None) -> MemberBalance:
    """A member's points in total and per month (optionally within a span of months); `member` may be a row."""
    params = {"member_id": member.id, "first": from_period or "0000-00", "last": to_period or "9999-99"}
    periods = [PeriodBalance(period=r.period, points=r.points, entries=r.entries) for r in await db.fetch_all(BALANCES_OF, params)]
    return MemberBalance(
        member_id=member.id, name=member.name, branch_unit_id=member.branch_unit_id,
        points=sum(p.points for p in periods), entries=sum(p.entries for p in periods), periods=periods,
    )


async def entries_sum(session: AsyncSession, *, member_id: str) -> int:
    """The plain sum of a member's entries (what every balance must equal)."""
    return int(await session.scalar(select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.member_id == member_id)) or 0)


def _member_totals(periods: ColumnElement[bool] | None) -> Select:
    """Members with their points over the periods `periods` admits (all time when None), highest first;
    members without entries there are listed with 0, so a ranking shows everyone."""
    conditions = [Balance.member_id == Member.id]
    if periods is not None:
        conditions.append(periods)
    points = func.coalesce(func.sum(Balance.points), 0).label("points")
    entries = func.coalesce(func.sum(Balance.entries), 0).label("entries")
    return (
        select(Member.id, Member.name, Member.branch_unit_id, Member.town_unit_id, points, entries)
        .select_from(Member)
        .outerjoin(Balance, and_(*conditions))
        .group_by(Member.id, Member.name, Member.branch_unit_id, Member.town_unit_id)
        .order_by(points.desc(), Member.name, Member.id)
    )


def member_totals_query(
    *, identity: Identity, scope_path: str | None, periods: list[str] | None, under_path: str | None,
    branch_unit_id: str | None, town_unit_id: str | None, include_left: bool = False,
) -> Select:
    """Members in scope with their points over `periods` (all time when None), highest first (see `_member_totals`)."""
    statement = _member_totals(Balance.period.in_(periods) if periods is not None else None)
    statement = statement.where(scope_condition(Member.unit_path, identity, scope_path))
    if under_path is not None:
        statement = statement.where(in_subtree(Member.unit_path, under_path))
    if branch_unit_id is not None:
        statement = statement.where(Member.branch_unit_id == branch_unit_id)
    if town_unit_id is not None:
        statement = statement.where(Member.town_unit_id == town_unit_id)
    if not include_left:
        statement = statement.where(Member.left_on.is_(None))
    return statement


@cache
def member_totals_page(*, subtree: bool, periods: bool, branch: bool) -> PagedQuery:
    """The balance list of one shape, built once: current members with their points, highest first. Binds
    `subtree` (the root unit's path), `periods` (a list of months; all time without) and `branch_unit_id`."""
    statement = _member_totals(Balance.period.in_(bindparam("periods", expanding=True)) if periods else None)
    statement = statement.where(Member.left_on.is_(None))
    if subtree:
        statement = statement.where(in_named_subtree(Member.unit_path))
    if branch:
        statement = statement.where(Member.branch_unit_id == bindparam("branch_unit_id"))
    return PagedQuery.of(statement)


def to_member_total(row) -> MemberTotal:  # noqa: ANN001 - a result row
    """A row of `member_totals_query` as the API returns it."""
    return MemberTotal(
        member_id=row.id, name=row.name, branch_unit_id=row.branch_unit_id, town_unit_id=row.town_unit_id,
        points=int(row.points), entries=int(row.entries),
    )


def branch_totals_query(*, identity: Identity, scope_path: str | None, periods: list[str] | None, under_path: str | None) -> Select:
    """Branches in scope with their points over `periods`, highest first."""
    statement = select(
        Entry.branch_unit_id,
        func.count(func.distinct(Entry.member_id)).label("members"),
        func.sum(Entry.points).label("points"),
        func.count().label("entries"),
    ).where(scope_condition(Entry.unit_path, identity, scope_path))
    if periods is not None:
        statement = statement.where(Entry.period.in_(periods))
    if under_path is not None:
        statement = statement.where(in_subtree(Entry.unit_path, under_path))
    return statement.group_by(Entry.branch_unit_id).order_by(func.sum(Entry.points).desc(), Entry.branch_unit_id)


def count_of(statement: Select) -> Select:
    """The number of rows `statement` returns (for a page's total)."""
    return select(func.count()).select_from(statement.order_by(None).subquery())
