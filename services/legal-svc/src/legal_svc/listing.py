"""Pages of already converted items (see shared.pagination for running the queries)."""

from __future__ import annotations

from typing import Any

from shared.pagination import Page, PageParams


def page_of(items: list[Any], total: int, params: PageParams) -> Page:
    """A `Page` of already converted items."""
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)
