"""Alembic environment of grid-svc."""

import grid_svc.models  # noqa: F401  registers every table
from grid_svc.db import metadata
from shared.migrations import run_env

run_env(metadata)
