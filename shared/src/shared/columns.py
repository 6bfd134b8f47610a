"""Column types every service stores the same way: enums as their values, UTC instants, money in fen."""

from __future__ import annotations

from enum import Enum as PyEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Dialect, Enum
from sqlmodel.sql import sqltypes

__all__ = ["UTCDateTime", "enum_type", "enum_column", "utc_column", "fen_column"]


class UTCDateTime(sqltypes.UTCDateTime):
    """A tz-aware instant, stored and returned in UTC on every backend."""

    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: Any):  # noqa: ANN201 - SQLAlchemy's processor protocol
        # asyncpg already returns `timestamp with time zone` as aware datetimes in UTC: converting each value
        # again costs a Python call per timestamp (a page of 50 orders has 550 of them).
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)


def enum_type(enum: type[PyEnum], length: int = 32) -> Enum:
    """A portable enum type storing the members' values (no native enum to migrate on PostgreSQL)."""
    return Enum(enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


def enum_column(enum: type[PyEnum], *, length: int = 32, nullable: bool = False, index: bool = False) -> Column:
    """A column holding one of `enum`'s values."""
    return Column(enum_type(enum, length), nullable=nullable, index=index)


def utc_column(*, nullable: bool = False, index: bool = False) -> Column:
    """A column for a tz-aware instant, stored and returned in UTC on every backend."""
    return Column(UTCDateTime(), nullable=nullable, index=index)


def fen_column(*, nullable: bool = False) -> Column:
    """A column for an amount of money in integer fen (64-bit: county totals outgrow 32 bits)."""
    return Column(BigInteger(), nullable=nullable, default=0)
