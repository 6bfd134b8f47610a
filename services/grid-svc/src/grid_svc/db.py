"""grid-svc's own metadata: its tables never mix with another service's."""

from pathlib import Path

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.tables import platform_tables

MIGRATIONS = Path(__file__).parent / "migrations"

mapper_registry = registry()


class GridModel(SQLModel, registry=mapper_registry):
    """Base of grid-svc's SQLModel classes."""


metadata = mapper_registry.metadata
platform = platform_tables(metadata)
