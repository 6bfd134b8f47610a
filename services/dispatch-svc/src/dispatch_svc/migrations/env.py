"""Alembic environment of dispatch-svc."""

import dispatch_svc.models  # noqa: F401  registers every table
from dispatch_svc.db import metadata
from shared.migrations import run_env

run_env(metadata)
