"""Who may do what in dispatch-svc, and the scope every record is filtered by."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.db import grid
from shared.identity import Identity, Role, require_write
from shared.problems import Problem

# Maintain the county-wide catalogue of service types.
CATALOGUE_ADMINS = frozenset({Role.PLATFORM_ADMIN, Role.COUNTY_ADMIN, Role.SYSTEM, Role.SERVICE})
# Register providers, plan the month, record lectures and activities (within their scope).
ORGANISERS = frozenset(
    {Role.PLATFORM_ADMIN, Role.COUNTY_ADMIN, Role.TOWN_ADMIN, Role.VILLAGE_SECRETARY, Role.SYSTEM, Role.SERVICE}
)
# Handle orders: accept, dispatch, record progress, enter orders on residents' behalf.
HANDLERS = ORGANISERS | {Role.GRID_WORKER}
# May place an order for themselves.
ORDERING = HANDLERS | {Role.RESIDENT, Role.PARTY_MEMBER}


def require_role(identity: Identity, allowed: frozenset[Role], action: str) -> None:
    """403 unless the caller's role is allowed to `action` and may write in dispatch."""
    if identity.role not in allowed:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not {action}")
    require_write(identity, "dispatch")


def is_handler(identity: Identity) -> bool:
    """True for callers who handle orders for others (not residents acting for themselves)."""
    return identity.role in HANDLERS or identity.role == Role.AUDITOR


async def scope_path(session: AsyncSession, identity: Identity) -> str | None:
    """Path of the caller's scope unit in this service's grid copy (None when unrestricted or unknown)."""
    return await grid.scope_path(session, identity)
