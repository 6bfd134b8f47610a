"""dispatch-svc's own metadata: its tables never mix with another service's."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum as PyEnum
from pathlib import Path

from sqlalchemy import DateTime, Enum, TypeDecorator
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.grid_replica import GridReplica, grid_units_table
from shared.tables import platform_tables

MIGRATIONS = Path(__file__).parent / "migrations"

mapper_registry = registry()


class DispatchModel(SQLModel, registry=mapper_registry):
    """Base of dispatch-svc's SQLModel classes."""


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC instant on every backend (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: attach a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def locks_rows(session: AsyncSession) -> bool:
    """True where SELECT … FOR UPDATE means something (PostgreSQL); SQLite writers are serialised anyway."""
    return session.bind.dialect.name != "sqlite"


def enum_type(enum: type[PyEnum], length: int) -> Enum:
    """A portable enum column type storing the members' values (no native enum on PostgreSQL)."""
    return Enum(enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


metadata = mapper_registry.metadata
platform = platform_tables(metadata)
grid = GridReplica(grid_units_table(metadata))
