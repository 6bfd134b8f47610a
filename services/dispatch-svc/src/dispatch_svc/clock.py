"""Time for dispatch-svc: a replaceable clock, and the Asia/Shanghai calendar deadlines and months use.

Deadlines and months are reckoned in Asia/Shanghai; every instant is stored in UTC. Tests hand
the app a `FixedClock` so that deadlines and the overdue sweep can be exercised without waiting.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Protocol

from fastapi import Depends, Request

from shared.local_time import SHANGHAI

MONTH_PATTERN = r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$"  # 1900-2999: year 0 or 10000 would crash the date arithmetic (500)


class Clock(Protocol):
    """Tells the current instant (tz-aware UTC)."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told otherwise (tests, and sweeps 'as of' a given instant)."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware(at)

    def now(self) -> datetime:
        """The instant this clock was set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Jump to `at`."""
        self._at = _aware(at)

    def advance(self, delta: timedelta) -> None:
        """Move forward by `delta`."""
        self._at += delta


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a clock needs a timezone-aware instant")
    return at.astimezone(UTC)


def local_date(at: datetime) -> date:
    """The Asia/Shanghai calendar date of an instant."""
    return at.astimezone(SHANGHAI).date()


def month_of(at: datetime) -> str:
    """The 'YYYY-MM' month (Asia/Shanghai) of an instant."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m")


def start_of_day(day: date) -> datetime:
    """Midnight at the start of an Asia/Shanghai day, in UTC."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def days_range(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering the Asia/Shanghai days `first`..`last` inclusive."""
    return start_of_day(first), start_of_day(last + timedelta(days=1))


def parse_month(month: str) -> tuple[date, date]:
    """First and last day of a 'YYYY-MM' month; ValueError when malformed."""
    if not re.match(MONTH_PATTERN, month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    year, number = int(month[:4]), int(month[5:])
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return first, following - timedelta(days=1)


def month_range(month: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a 'YYYY-MM' month in Asia/Shanghai."""
    return days_range(*parse_month(month))


async def _clock(request: Request) -> Clock:  # async: called inline, not in a worker thread
    return request.app.state.clock


ClockDep = Annotated[Clock, Depends(_clock)]
