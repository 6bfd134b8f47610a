"""Who may do what in grid-svc."""

from __future__ import annotations

from shared.identity import Identity, Role, require_write
from shared.problems import Problem

GRID_ADMINS = frozenset(
    {Role.PLATFORM_ADMIN, Role.COUNTY_ADMIN, Role.TOWN_ADMIN, Role.VILLAGE_SECRETARY, Role.SYSTEM, Role.SERVICE}
)


def require_grid_admin(identity: Identity) -> None:
    """403 unless the caller may change the grid tree."""
    if identity.role not in GRID_ADMINS:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not change the grid")
    require_write(identity, "grid")

