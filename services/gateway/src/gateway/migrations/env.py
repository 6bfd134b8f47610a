"""Alembic environment of the gateway."""

import gateway.models  # noqa: F401  registers every table
from gateway.db import metadata
from shared.migrations import run_env

run_env(metadata)
