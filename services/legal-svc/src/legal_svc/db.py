"""legal-svc's own metadata: its tables never mix with another service's."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import BigInteger, Column, DateTime, Enum, TypeDecorator
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.grid_replica import GridReplica, grid_units_table
from shared.tables import platform_tables

MIGRATIONS = Path(__file__).parent / "migrations"

mapper_registry = registry()


class LegalModel(SQLModel, registry=mapper_registry):
    """Base of legal-svc's SQLModel classes."""


metadata = mapper_registry.metadata
platform = platform_tables(metadata)
grid = GridReplica(grid_units_table(metadata))


class UtcDateTime(TypeDecorator):
    """A tz-aware UTC timestamp on every backend (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Column:
    """A column for a UTC timestamp."""
    return Column(UtcDateTime(), nullable=nullable, index=index)


def fen_column(*, nullable: bool = False) -> Column:
    """A column for an amount of money in integer fen (64-bit: county totals outgrow 32 bits)."""
    return Column(BigInteger(), nullable=nullable, default=0)


def enum_column(enum: type[StrEnum], *, length: int = 32, nullable: bool = False, index: bool = False) -> Column:
    """A portable enum column stored as its string value (no native database enum to migrate)."""
    return Column(
        Enum(enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]),
        nullable=nullable,
        index=index,
    )
