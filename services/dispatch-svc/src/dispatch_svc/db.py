"""dispatch-svc's own metadata: its tables never mix with another service's."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.grid_replica import GridReplica, grid_units_table
from shared.tables import platform_tables

MIGRATIONS = Path(__file__).parent / "migrations"

mapper_registry = registry()


class DispatchModel(SQLModel, registry=mapper_registry):
    """Base of dispatch-svc's SQLModel classes."""


def locks_rows(session: AsyncSession) -> bool:
    """True where SELECT … FOR UPDATE means something (PostgreSQL); SQLite writers are serialised anyway."""
    return session.bind.dialect.name != "sqlite"


metadata = mapper_registry.metadata
platform = platform_tables(metadata)
grid = GridReplica(grid_units_table(metadata))
