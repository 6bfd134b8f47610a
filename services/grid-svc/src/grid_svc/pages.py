"""Pagination for queries that return several entities per row (shared.pagination returns scalars)."""

from __future__ import annotations

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.pagination import PageParams


async def paginate_rows(session: AsyncSession, statement: Select, page: PageParams) -> tuple[list[Row], int]:
    """Run an ordered multi-entity `statement` for one page; return its rows and the total count."""
    total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = (await session.execute(statement.limit(page.per_page).offset(page.offset))).all()
    return list(rows), int(total or 0)
