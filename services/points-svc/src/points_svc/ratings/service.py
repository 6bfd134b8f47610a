"""Rating use cases: thresholds per town, stars from points, rankings, award candidates."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.access import path_related, require_town_manager
from points_svc.db import grid
from points_svc.ledger.balances import member_totals_query
from points_svc.members.models import Member
from points_svc.periods import months_of
from points_svc.ranking import competition_ranks
from points_svc.ratings.models import (
    DEFAULT_THRESHOLDS,
    RankingLine,
    Rating,
    RatingCompute,
    RatingRun,
    RatingScheme,
    SchemePublic,
    SpanKind,
    span_kind_of,
    stars_for,
)
from shared.events.points import RatingComputed
from shared.identity import Identity
from shared.ids import new_id
from shared.outbox import emit
from shared.pagination import PagedQuery
from shared.problems import not_found, unprocessable
from shared.scope import in_named_subtree, path_in_scope


async def _town(session: AsyncSession, identity: Identity, town_unit_id: str, *, write: bool):  # noqa: ANN202 - GridUnit
    """The town; writers need it in their scope, readers in or above it (else 404)."""
    town = await grid.get(session, town_unit_id)
    scope_path = await grid.scope_path(session, identity)
    visible = path_in_scope if write else path_related
    if town is None or not visible(town.path, identity, scope_path):
        raise not_found("town")
    if town.level != "town":
        raise unprocessable(f"ratings are per town, not per {town.level}", code="not_a_town", loc=["body", "town_unit_id"])
    return town


async def get_scheme(session: AsyncSession, *, identity: Identity, town_unit_id: str, span_kind: SpanKind) -> SchemePublic:
    """The town's thresholds for years or quarters (the defaults until it sets its own)."""
    await _town(session, identity, town_unit_id, write=False)
    scheme = await session.get(RatingScheme, (town_unit_id, span_kind))
    if scheme is None:
        return SchemePublic(town_unit_id=town_unit_id, span_kind=span_kind, thresholds=DEFAULT_THRESHOLDS[span_kind], is_default=True)
    return SchemePublic(town_unit_id=town_unit_id, span_kind=span_kind, thresholds=scheme.thresholds, is_default=False)


async def set_scheme(
    session: AsyncSession, *, identity: Identity, town_unit_id: str, span_kind: SpanKind, thresholds: list[int]
) -> SchemePublic:
    """Set the town's thresholds; ratings already computed keep the thresholds they used."""
    require_town_manager(identity)
    await _town(session, identity, town_unit_id, write=True)
    scheme = await session.get(RatingScheme, (town_unit_id, span_kind))
    now = datetime.now(UTC)
    if scheme is None:
        session.add(RatingScheme(town_unit_id=town_unit_id, span_kind=span_kind, thresholds=thresholds, updated_by=identity.subject, updated_at=now))
    else:
        scheme.thresholds, scheme.updated_by, scheme.updated_at = thresholds, identity.subject, now
    return SchemePublic(town_unit_id=town_unit_id, span_kind=span_kind, thresholds=thresholds, is_default=False)


async def compute_ratings(session: AsyncSession, *, identity: Identity, data: RatingCompute) -> RatingRun:
    """Stars for every current member of the town from their points in the span; emit RatingComputed each.

    Computing again (after late entries or new thresholds) replaces the previous ratings.
    """
    require_town_manager(identity)
    town = await _town(session, identity, data.town_unit_id, write=True)
    thresholds = (await get_scheme(session, identity=identity, town_unit_id=town.id, span_kind=span_kind_of(data.period))).thresholds
    rows = (
        await session.execute(
            member_totals_query(
                identity=identity, scope_path=None if identity.unrestricted else await grid.scope_path(session, identity),
                periods=months_of(data.period), under_path=None, branch_unit_id=None, town_unit_id=town.id,
            )
        )
    ).all()
    members = {m.id: m for m in (await session.execute(select(Member).where(Member.id.in_([r.id for r in rows])))).scalars()}
    town_ranks = competition_ranks([int(r.points) for r in rows])
    by_branch: dict[str, list] = defaultdict(list)
    for row in rows:
        by_branch[row.branch_unit_id].append(row)
    branch_rank: dict[str, int] = {}
    for branch_rows in by_branch.values():
        for row, rank in zip(branch_rows, competition_ranks([int(r.points) for r in branch_rows]), strict=True):
            branch_rank[row.id] = rank
    existing = {
        r.member_id: r
        for r in (await session.execute(select(Rating).where(Rating.town_unit_id == town.id, Rating.period == data.period))).scalars()
    }
    now = datetime.now(UTC)
    counts: Counter[int] = Counter()
    for row, town_rank in zip(rows, town_ranks, strict=True):
        member = members[row.id]
        values = dict(
            person_id=member.person_id, name=member.name, town_unit_id=town.id, branch_unit_id=member.branch_unit_id,
            unit_path=member.unit_path, period=data.period, total_points=int(row.points),
            stars=stars_for(int(row.points), thresholds), rank_in_branch=branch_rank[row.id], rank_in_town=town_rank,
            thresholds=thresholds, computed_by=identity.subject, computed_at=now,
        )
        rating = existing.get(member.id)
        if rating is None:
            rating = Rating(id=new_id(), member_id=member.id, **values)
            session.add(rating)
        else:
            for key, value in values.items():
                setattr(rating, key, value)
        counts[rating.stars] += 1
        emit(
            session,
            RatingComputed(rating_id=rating.id, member_id=member.id, person_id=member.person_id, town_unit_id=town.id,
                           branch_unit_id=member.branch_unit_id, period=data.period, total_points=rating.total_points, stars=rating.stars),
        )
    return RatingRun(town_unit_id=town.id, period=data.period, thresholds=thresholds, members=len(rows), by_stars=dict(sorted(counts.items())))


# The rating list's filters, each bound by its own name.
_RATING_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "subtree": lambda: in_named_subtree(Rating.unit_path, "subtree"),
    "town_unit_id": lambda: Rating.town_unit_id == bindparam("town_unit_id"),
    "branch_unit_id": lambda: Rating.branch_unit_id == bindparam("branch_unit_id"),
    "member_id": lambda: Rating.member_id == bindparam("member_id"),
    "period": lambda: Rating.period == bindparam("period"),
    "min_stars": lambda: Rating.stars >= bindparam("min_stars"),
}


@cache
def ratings_page(filters: frozenset[str]) -> PagedQuery:
    """The rating list of one shape, built once (so its compiled form is found again): newest span first, then
    by points, name and id."""
    statement = select(Rating)
    for name, condition in _RATING_FILTERS.items():  # in a fixed order, whatever the order of `filters`
        if name in filters:
            statement = statement.where(condition())
    return PagedQuery.of(statement.order_by(Rating.period.desc(), Rating.total_points.desc(), Rating.name, Rating.id))


def list_ratings_query(
    *, subtree: str | None, town_unit_id: str | None = None, branch_unit_id: str | None = None,
    period: str | None = None, min_stars: int | None = None, member_id: str | None = None,
) -> tuple[frozenset[str], dict[str, Any]]:
    """The shape of a rating list and its binds, for `ratings_page`: ratings in `subtree` (the caller's scope,
    see `list_subtree`; None: everywhere), filtered."""
    values = {
        "subtree": subtree, "town_unit_id": town_unit_id, "branch_unit_id": branch_unit_id, "member_id": member_id,
        "period": period, "min_stars": min_stars,
    }
    params = {name: value for name, value in values.items() if value is not None}
    return frozenset(params), params


async def ranking(session: AsyncSession, *, identity: Identity, unit_id: str, periods: list[str] | None) -> list[RankingLine]:
    """Members of a branch (village), a town, or any unit's subtree, ranked by points in the span."""
    unit = await grid.get(session, unit_id)
    scope_path = await grid.scope_path(session, identity)
    if unit is None or not path_related(unit.path, identity, scope_path):
        raise not_found("unit")
    rows = (
        await session.execute(
            member_totals_query(
                identity=identity, scope_path=scope_path, periods=periods,
                under_path=None if unit.level in ("village", "town") else unit.path,
                branch_unit_id=unit.id if unit.level == "village" else None,
                town_unit_id=unit.id if unit.level == "town" else None,
            )
        )
    ).all()
    ranks = competition_ranks([int(r.points) for r in rows])
    return [
        RankingLine(rank=rank, member_id=r.id, name=r.name, branch_unit_id=r.branch_unit_id, points=int(r.points), entries=int(r.entries))
        for rank, r in zip(ranks, rows, strict=True)
    ]
