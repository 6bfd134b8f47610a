"""Days and months as the town lives them: dates in Asia/Shanghai, stored instants in UTC.

A period is a month written `YYYY-MM` in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


def today(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai (or the local date of `now`)."""
    return (now or datetime.now(UTC)).astimezone(SHANGHAI).date()


def as_utc(moment: datetime) -> datetime:
    """A stored instant as aware UTC (SQLite hands back naive UTC values)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def period_of(day: date) -> str:
    """The month (`YYYY-MM`) a local date falls in."""
    return f"{day.year:04d}-{day.month:02d}"


def current_period(now: datetime | None = None) -> str:
    """This month in Asia/Shanghai."""
    return period_of(today(now))


def next_period(period: str) -> str:
    """The month after `period`."""
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def months_between(start: date, end: date) -> list[str]:
    """Every month that the inclusive date range touches, in order."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
