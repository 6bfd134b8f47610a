"""The `from`/`to` period filter every list and figure takes (dates in Asia/Shanghai, inclusive)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from legal_svc.units import check_period


@dataclass(frozen=True)
class Period:
    """An inclusive date range; either end may be open."""

    start: date | None
    end: date | None


async def _period(  # async: called inline, not in a worker thread
    start: Annotated[date | None, Query(alias="from", description="first day (inclusive), YYYY-MM-DD")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day (inclusive), YYYY-MM-DD")] = None,
) -> Period:
    check_period(start, end)
    return Period(start, end)


PeriodDep = Annotated[Period, Depends(_period)]
