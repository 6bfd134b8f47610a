"""HTTP endpoints for star ratings, rankings and award candidates under `/api/v1/points`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from points_svc.db import grid
from points_svc.periods import RATING_PERIOD_PATTERN, months_of
from points_svc.ratings import service
from points_svc.ratings.models import RankingLine, RatingCompute, RatingPublic, RatingRun, SchemePublic, SchemeSet, SpanKind
from shared.identity import CurrentIdentity
from shared.local_time import PERIOD_PATTERN
from shared.pagination import Page, PageDep, PageParams, page_of
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/points", tags=["ratings and rankings"])


@router.get("/rating-schemes/{town_unit_id}/{span_kind}", response_model=SchemePublic, summary="Read a town's star thresholds")
async def read_scheme(town_unit_id: str, span_kind: SpanKind, db: DatabaseDep, identity: CurrentIdentity) -> SchemePublic:
    """Points needed for 1 to 5 stars over a year or a quarter (defaults until the town sets its own)."""
    async with db.session() as session:
        return await service.get_scheme(session, identity=identity, town_unit_id=town_unit_id, span_kind=span_kind)


@router.put("/rating-schemes/{town_unit_id}/{span_kind}", response_model=SchemePublic, summary="Set a town's star thresholds")
async def set_scheme(town_unit_id: str, span_kind: SpanKind, body: SchemeSet, db: DatabaseDep, identity: CurrentIdentity) -> SchemePublic:
    """Set the points needed for 1 to 5 stars; ratings already computed keep their thresholds."""
    async with db.transaction() as session:
        return await service.set_scheme(session, identity=identity, town_unit_id=town_unit_id, span_kind=span_kind, thresholds=body.thresholds)


@router.post("/ratings/compute", response_model=RatingRun, summary="Compute star ratings")
async def compute_ratings(body: RatingCompute, db: DatabaseDep, identity: CurrentIdentity) -> RatingRun:
    """Rate every current member of a town for a year or quarter from their points (0 = below one
    star, up to 5), with their rank in the branch and the town. Computing again replaces the ratings."""
    async with db.transaction() as session:
        return await service.compute_ratings(session, identity=identity, data=body)


@router.get("/ratings", response_model=Page[RatingPublic], summary="List star ratings")
async def list_ratings(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    town_unit_id: str | None = None,
    branch_unit_id: str | None = None,
    member_id: Annotated[str | None, Query(description="one member's ratings only (their latest is the first)")] = None,
    period: Annotated[str | None, Query(pattern=RATING_PERIOD_PATTERN)] = None,
    min_stars: Annotated[int | None, Query(ge=0, le=5)] = None,
) -> Page[RatingPublic]:
    """Computed ratings in scope, newest span first, then by points."""
    shape, params = service.list_ratings_query(
        subtree=await grid.list_subtree(db, identity, None), town_unit_id=town_unit_id, branch_unit_id=branch_unit_id,
        period=period, min_stars=min_stars, member_id=member_id,
    )
    rows, total = await service.ratings_page(shape).fetch(db, page, params)
    return page_of(RatingPublic, rows, total, page)


@router.get("/award-candidates", response_model=list[RatingPublic], summary="Award candidates")
async def award_candidates(
    db: DatabaseDep,
    identity: CurrentIdentity,
    town_unit_id: str,
    period: Annotated[str, Query(pattern=RATING_PERIOD_PATTERN)],
    min_stars: Annotated[int, Query(ge=1, le=5)] = 5,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[RatingPublic]:
    """Members of the town rated at least `min_stars` for the span, best first (compute ratings first)."""
    shape, params = service.list_ratings_query(
        subtree=await grid.list_subtree(db, identity, None), town_unit_id=town_unit_id, period=period, min_stars=min_stars,
    )
    rows, _ = await service.ratings_page(shape).fetch(db, PageParams(per_page=limit), params)
    return [RatingPublic.model_validate(row, from_attributes=True) for row in rows]


@router.get("/rankings", response_model=Page[RankingLine], summary="Rank members by points")
async def rankings(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    unit_id: Annotated[str, Query(description="a branch's village, a town, or any unit")],
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="one month")] = None,
    span: Annotated[str | None, Query(pattern=RATING_PERIOD_PATTERN, description="a year or quarter")] = None,
) -> Page[RankingLine]:
    """Live ranking of members within a branch or a town (equal points share a rank), in a month,
    quarter, year or all time."""
    periods = [period] if period else months_of(span) if span else None
    async with db.session() as session:
        lines = await service.ranking(session, identity=identity, unit_id=unit_id, periods=periods)
    return Page(items=lines[page.offset : page.offset + page.per_page], total=len(lines), page=page.page, per_page=page.per_page)
