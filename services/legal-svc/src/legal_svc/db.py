"""legal-svc's own metadata: its tables never mix with another service's."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Index
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.grid_replica import GridReplica, grid_units_table
from shared.tables import platform_tables

MIGRATIONS = Path(__file__).parent / "migrations"

mapper_registry = registry()


class LegalModel(SQLModel, registry=mapper_registry):
    """Base of legal-svc's SQLModel classes."""


def town_index(table: str, *columns: str) -> Index:
    """The index of a record table read by town (`legal_svc.towns`): its `town_unit_id`, then `columns`."""
    return Index(f"ix_{table}_town", "town_unit_id", *columns)


metadata = mapper_registry.metadata
platform = platform_tables(metadata)
grid = GridReplica(grid_units_table(metadata))
