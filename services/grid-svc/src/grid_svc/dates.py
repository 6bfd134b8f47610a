"""Dated records: the current instant and whether a [starts, ends) record is in force on a day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import InstrumentedAttribute


def now() -> datetime:
    """The current instant, tz-aware UTC."""
    return datetime.now(UTC)


def active_on(starts: InstrumentedAttribute, ends: InstrumentedAttribute, day: date) -> ColumnElement[bool]:
    """SQL condition: a dated record [starts, ends) is in force on `day` (open end = still in force)."""
    return and_(starts <= day, or_(ends.is_(None), ends > day))


def in_force(starts_on: date, ends_on: date | None, day: date) -> bool:
    """Python twin of `active_on` for one loaded record."""
    return starts_on <= day and (ends_on is None or ends_on > day)
