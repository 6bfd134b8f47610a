"""Who may do what in points-svc, and where (scope by materialised path)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, literal, or_, true

from shared.identity import Identity, Role, require_write
from shared.problems import Problem
from shared.scope import in_subtree, path_in_scope

# Set the town's scoring rules, rating thresholds and appraisals.
TOWN_MANAGERS = frozenset({Role.PLATFORM_ADMIN, Role.COUNTY_ADMIN, Role.TOWN_ADMIN, Role.SYSTEM, Role.SERVICE})
# Keep a branch's ledger and monthly notice: the town, and the village party secretary.
BRANCH_MANAGERS = TOWN_MANAGERS | {Role.VILLAGE_SECRETARY}
# Check the ledger's hash chains.
AUDITORS = BRANCH_MANAGERS | {Role.AUDITOR}


def require_town_manager(identity: Identity) -> None:
    """403 unless the caller manages a town's points schemes."""
    if identity.role not in TOWN_MANAGERS:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not manage scoring schemes")
    require_write(identity, "points")


def require_branch_manager(identity: Identity) -> None:
    """403 unless the caller keeps a branch's ledger and notices."""
    if identity.role not in BRANCH_MANAGERS:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not keep the points ledger")
    require_write(identity, "points")


def require_auditor(identity: Identity) -> None:
    """403 unless the caller may verify the ledger."""
    if identity.role not in AUDITORS:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not verify the ledger")


def path_related(path: str, identity: Identity, scope_path: str | None) -> bool:
    """True when `path` lies in the caller's subtree or above it (a village sees its town's rules)."""
    if path_in_scope(path, identity, scope_path):
        return True
    return scope_path is not None and scope_path.startswith(path)


def require_in_scope(path: str | None, identity: Identity, scope_path: str | None, what: str) -> None:
    """404 unless `path` lies in the caller's subtree (existence outside scope must not leak)."""
    if not path_in_scope(path, identity, scope_path):
        raise Problem(404, "not_found", f"{what} not found")


def related_condition(path_column: ColumnElement, identity: Identity, scope_path: str | None) -> ColumnElement[bool]:
    """SQL twin of `path_related`: rows in the caller's subtree or above it."""
    if identity.unrestricted:
        return true()
    if scope_path is None:
        return false()
    return or_(in_subtree(path_column, scope_path), literal(scope_path).startswith(path_column))
