"""Who may manage which users and keys: role ranks, and scope units checked with grid-svc.

An admin manages accounts whose scope lies in the admin's own subtree. Whether a unit lies
there is grid-svc's answer to reading it with the admin's identity: 404 means outside.
"""

from __future__ import annotations

from gateway.accounts.models import User
from gateway.proxy import UpstreamError, Upstreams, UpstreamUnavailable
from shared.identity import Identity, Role
from shared.problems import Problem, not_found, unprocessable

# Higher manages lower; roles absent here manage nobody.
ADMIN_RANK: dict[Role, int] = {
    Role.PLATFORM_ADMIN: 4,
    Role.COUNTY_ADMIN: 3,
    Role.TOWN_ADMIN: 2,
    Role.VILLAGE_SECRETARY: 1,
}
# Roles that belong to machines, never to a person's account.
NON_USER_ROLES = frozenset({Role.SYSTEM, Role.SERVICE})


def rank(role: Role) -> int:
    """An admin role's rank (0 for every other role)."""
    return ADMIN_RANK.get(role, 0)


def require_admin(admin: User) -> None:
    """403 unless the user administers accounts."""
    if rank(admin.role) == 0:
        raise Problem(403, "forbidden", f"role {admin.role} does not manage accounts")


def require_may_grant(admin: User, role: Role) -> None:
    """403 unless `admin` may give `role` to an account (platform admins give any person's role)."""
    if role in NON_USER_ROLES:
        raise unprocessable(f"role {role} is not for user accounts", loc=["body", "role"])
    if admin.role == Role.PLATFORM_ADMIN:
        return
    if rank(role) >= rank(admin.role):
        raise Problem(403, "forbidden", f"a {admin.role} may not grant the role {role}")


def in_admin_scope(admin: User, scope_path: str | None) -> bool:
    """True when an account scoped at `scope_path` lies in the admin's subtree."""
    if admin.role == Role.PLATFORM_ADMIN:
        return True
    return scope_path is not None and admin.scope_path is not None and scope_path.startswith(admin.scope_path)


def require_manages(admin: User, target_role: Role, target_scope_path: str | None, what: str) -> None:
    """404 when the account lies outside the admin's subtree, 403 when it outranks the admin."""
    if not in_admin_scope(admin, target_scope_path):
        raise not_found(what)
    if admin.role != Role.PLATFORM_ADMIN and rank(target_role) >= rank(admin.role):
        raise Problem(403, "forbidden", f"a {admin.role} may not manage a {target_role}")


async def scope_unit_path(upstreams: Upstreams, admin: Identity, unit_id: str, *, loc: list[str | int]) -> str:
    """The path of `unit_id` as grid-svc shows it to the admin; 422 when unknown or outside scope."""
    try:
        unit = await upstreams.get_json("grid", f"/api/v1/grid/units/{unit_id}", identity=admin)
    except UpstreamUnavailable as exc:
        raise Problem(503, "service_unavailable", "grid service unavailable: cannot check the scope unit",
                      headers={"Retry-After": "5"}) from exc
    except UpstreamError as exc:
        if exc.status == 404:
            raise unprocessable("scope unit unknown or outside your scope", code="scope_outside", loc=loc) from exc
        raise Problem(503, "service_unavailable", f"grid service answered {exc.status}") from exc
    return unit["path"]
