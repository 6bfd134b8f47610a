"""Months, quarters and years as the town counts them (Asia/Shanghai), and working days.

Working days skip Saturdays and Sundays only: public holidays and make-up working days
(调休) are not modelled yet, so an objection window over a holiday is shorter than on paper.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from shared.local_time import SHANGHAI, today

RATING_PERIOD_PATTERN = r"^\d{4}(-Q[1-4])?$"


def months_of(rating_period: str) -> list[str]:
    """The months of a year ('2026') or a quarter ('2026-Q2')."""
    if not re.match(RATING_PERIOD_PATTERN, rating_period):
        raise ValueError(f"not a year or quarter: {rating_period}")
    year = int(rating_period[:4])
    if len(rating_period) == 4:
        months = range(1, 13)
    else:
        quarter = int(rating_period[-1])
        months = range(3 * quarter - 2, 3 * quarter + 1)
    return [f"{year:04d}-{m:02d}" for m in months]


def is_working_day(day: date) -> bool:
    """Monday to Friday (public holidays are not modelled yet)."""
    return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (`start` itself not counted)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def objection_deadline(opened_at: datetime, working_days: int) -> datetime:
    """End of the `working_days`-th working day after opening (local midnight, in UTC); 0 = at once."""
    if working_days == 0:
        return opened_at
    last_day = add_working_days(today(opened_at), working_days)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=SHANGHAI).astimezone(UTC)

