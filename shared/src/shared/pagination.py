"""Page-based pagination with a stable order: `?page=1&per_page=50`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Integer, Label, Row, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.database import Database

T = TypeVar("T")

MAX_PER_PAGE = 200


class PageParams(BaseModel):
    """Which page of a list to return."""

    page: int = Field(1, ge=1)
    per_page: int = Field(50, ge=1, le=MAX_PER_PAGE)

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.per_page


async def _page_params(  # async: called inline, not in a worker thread
    page: Annotated[int, Query(ge=1, le=100_000, description="1-based page number")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="items per page")] = 50,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


PageDep = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total across all pages."""

    items: list[T]
    total: int
    page: int
    per_page: int


async def fetch_page(db: Database, statement: Select, params: PageParams) -> tuple[Sequence[Row], int]:
    """One page of a statement built for this request (already ordered), and its total, in one round trip.
    An entity statement (`select(Model)`) gives rows of the entity's columns, not loaded records."""
    return await PagedQuery.of(statement).fetch(db, params, {})


def as_dicts(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Rows of one result as dicts of their columns."""
    if not rows:
        return []
    keys = rows[0]._fields  # built anew on every access: once per result, not once per row (2.5x faster for 50 rows)
    return [dict(zip(keys, row)) for row in rows]


def page_of(item: type[T], rows: Sequence[Any], total: int, params: PageParams) -> Page[T]:
    """A page validated straight from rows whose columns are the item's fields (or from dicts of them):
    no model object is built per item before validation."""
    if rows and isinstance(rows[0], Row):
        # A row's attributes are looked up in Python one by one; a dict's keys are read by pydantic itself
        # (3x faster for a page of 50).
        rows = as_dicts(rows)
    return Page[item].model_validate(
        {"items": rows, "total": total, "page": params.page, "per_page": params.per_page}, from_attributes=True
    )


def count_of(statement: Select) -> Select:
    """The statement counting the rows of `statement`."""
    if statement._group_by_clauses or statement._distinct:
        return select(func.count()).select_from(statement.order_by(None).subquery())
    # Only FROM and WHERE matter to a count: left joins that add columns then drop out of its plan.
    return statement.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)


async def paginate(session: AsyncSession, statement: Select, params: PageParams, *, count: Select | None = None) -> tuple[list, int]:
    """Run `statement` (already ordered) for one page; return its rows and the total count (by `count` when given:
    the total answered another way, from kept tallies, say)."""
    total = await session.scalar(count if count is not None else count_of(statement))
    rows = (await session.execute(statement.limit(params.per_page).offset(params.offset))).scalars().all()
    return list(rows), int(total or 0)


async def paginate_rows(session: AsyncSession, statement: Select, params: PageParams) -> tuple[list[Row], int]:
    """Like `paginate` for a statement of several columns or entities (a record with joined names): whole rows."""
    total = await session.scalar(count_of(statement))
    rows = (await session.execute(statement.limit(params.per_page).offset(params.offset))).all()
    return list(rows), int(total or 0)


def _window(statement: Select) -> Select:
    """`statement` cut to one page (bind `limit` and `offset`)."""
    return statement.limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))


def _total(count: Select) -> Label:
    """`count` as the `total` column of a page's rows, with its own FROM (never correlated to the outer rows)."""
    return count.correlate(None).scalar_subquery().label("total")


@dataclass(frozen=True)
class PagedQuery:
    """A list statement built once, to be run one page at a time on the hot path.

    `rows` selects one page (bind `limit` and `offset`) and gives every row the `total` of all pages,
    counted in the same round trip; `count` answers the total alone, for a page past the end.
    """

    rows: Select
    count: Select

    @classmethod
    def of(cls, statement: Select, *, count: Select | None = None) -> PagedQuery:
        """Page `statement` (already ordered, with named `bindparam`s for its filters). `count` answers the
        total another way (from kept totals, say) with the same binds; by default the rows are counted."""
        count = count if count is not None else count_of(statement)
        return cls(rows=_window(statement.add_columns(_total(count))), count=count)

    @classmethod
    def by_keys(
        cls, statement: Select, key: ColumnElement, *, count: Select | None = None, read: Select | None = None
    ) -> PagedQuery:
        """Like `of`, but the page's keys are picked first by the statement reduced to `key`, then their rows
        are read (a deferred join). For an order an index holds with the key, under conditions on that index:
        the planner then walks the index alone, where ordering whole rows it may walk the primary key and
        filter every row it passes. `read` reads the picked keys' rows instead of `statement` (ordered the same,
        it may join what belongs to each, several rows per key)."""
        keys = _window(statement.with_only_columns(key))
        count = count if count is not None else count_of(statement)
        rows = read if read is not None else statement
        return cls(rows=rows.where(key.in_(keys)).add_columns(_total(count)), count=count)

    async def fetch(self, db: Database, page: PageParams, params: Mapping[str, Any]) -> tuple[Sequence[Row], int]:
        """One page of rows and the total across all pages."""
        rows = await db.fetch_all(self.rows, {**params, "limit": page.per_page, "offset": page.offset})
        if rows:
            return rows, rows[0].total
        if page.offset == 0:
            return rows, 0
        return rows, (await db.fetch_one(self.count, params))[0]
