"""Days and months as the platform counts them: in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


def today() -> date:
    """Today in Asia/Shanghai."""
    return datetime.now(UTC).astimezone(LOCAL).date()


def this_month() -> str:
    """The current month, YYYY-MM."""
    return today().strftime("%Y-%m")


def months_between(start: date, end: date) -> list[str]:
    """Every month YYYY-MM that the inclusive range touches."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
