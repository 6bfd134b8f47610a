"""The platform tables every service has in its own database: outbox, inbox, idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData, Table

from shared.idempotency import idempotency_table
from shared.inbox import inbox_table
from shared.outbox import outbox_table


@dataclass(frozen=True)
class PlatformTables:
    """Handles on the platform tables in one service's metadata."""

    outbox: Table
    inbox: Table
    idempotency: Table


def platform_tables(metadata: MetaData) -> PlatformTables:
    """Add the platform tables to a service's metadata (call once per service)."""
    return PlatformTables(outbox=outbox_table(metadata), inbox=inbox_table(metadata), idempotency=idempotency_table(metadata))
