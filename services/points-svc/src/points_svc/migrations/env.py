"""Alembic environment of points-svc."""

import points_svc.models  # noqa: F401  registers every table
from points_svc.db import metadata
from shared.migrations import run_env

run_env(metadata)
