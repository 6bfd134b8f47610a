"""The gateway's own metadata: users and API keys; no domain data."""

from pathlib import Path

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

MIGRATIONS = Path(__file__).parent / "migrations"

mapper_registry = registry()


class GatewayModel(SQLModel, registry=mapper_registry):
    """Base of the gateway's SQLModel classes."""


metadata = mapper_registry.metadata
