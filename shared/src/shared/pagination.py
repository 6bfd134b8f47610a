"""Page-based pagination with a stable order: `?page=1&per_page=50`."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def paginate(session: AsyncSession, statement: Select, params: PageParams) -> tuple[list, int]:
    """Run `statement` (already ordered) for one page; return its rows and the total count."""
    total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = (await session.execute(statement.limit(params.per_page).offset(params.offset))).scalars().all()
    return list(rows), int(total or 0)


async def paginate_rows(session: AsyncSession, statement: Select, params: PageParams) -> tuple[list[Row], int]:
    """Like `paginate` for a statement of several columns or entities (a record with joined names): whole rows."""
    total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = (await session.execute(statement.limit(params.per_page).offset(params.offset))).all()
    return list(rows), int(total or 0)
