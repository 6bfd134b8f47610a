"""Who may do what in grid-svc."""

from __future__ import annotations

from shared.identity import Identity, Role, require_write
from shared.problems import Problem

GRID_ADMINS = frozenset(
    {Role.PLATFORM_ADMIN, Role.COUNTY_ADMIN, Role.TOWN_ADMIN, Role.VILLAGE_SECRETARY, Role.SYSTEM, Role.SERVICE}
)
# Grid workers keep the household register of their grid; they do not change its structure.
REGISTRY_WRITERS = GRID_ADMINS | {Role.GRID_WORKER}


def require_grid_admin(identity: Identity) -> None:
    """403 unless the caller may change the grid tree."""
    if identity.role not in GRID_ADMINS:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not change the grid")
    require_write(identity, "grid")


def require_registry_writer(identity: Identity) -> None:
    """403 unless the caller may register or update households and people."""
    if identity.role not in REGISTRY_WRITERS:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not change the household register")
    require_write(identity, "grid")


def sees_personal_data(identity: Identity) -> bool:
    """True for callers who may read full ID numbers and phones of records in their scope."""
    return identity.role in GRID_ADMINS
