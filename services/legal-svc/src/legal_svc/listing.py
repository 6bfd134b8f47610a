"""Pages of multi-column rows (a record with joined names), beside shared.pagination for single models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.pagination import Page, PageParams


async def paginate_rows(session: AsyncSession, statement: Select, params: PageParams) -> tuple[Sequence[Row], int]:
    """Run an ordered multi-column `statement` for one page; return its rows and the total count."""
    total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = (await session.execute(statement.limit(params.per_page).offset(params.offset))).all()
    return rows, int(total or 0)


def page_of(items: list[Any], total: int, params: PageParams) -> Page:
    """A `Page` of already converted items."""
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)
