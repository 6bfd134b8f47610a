"""Alembic environment of legal-svc."""

import legal_svc.models  # noqa: F401  registers every table
from legal_svc.db import metadata
from shared.migrations import run_env

run_env(metadata)
