"""Who may do what in legal-svc.

Mediation files are legal records under the People's Mediation Law: only the roles that
handle disputes read a full case (and every such read is audited); everyone else in scope
sees masked summaries. Lists and exports are always masked, whatever the role.
"""

from __future__ import annotations

from shared.identity import Identity, Role, require_write
from shared.problems import Problem

# Roles that handle disputes: they read full cases in scope (audited) and run mediation.
CASE_HANDLERS = frozenset({Role.MEDIATOR, Role.VILLAGE_SECRETARY, Role.TOWN_ADMIN, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN})

# Roles that keep the other legal ledgers (advisers, enforcement, publicity, patrols).
LEGAL_STAFF = CASE_HANDLERS | {Role.SYSTEM, Role.SERVICE}

# Roles that set up legal advisers and their village assignments.
LEGAL_ADMINS = frozenset({Role.TOWN_ADMIN, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN, Role.SYSTEM, Role.SERVICE})

AUDITORS = frozenset({Role.AUDITOR})


def sees_personal_data(identity: Identity) -> bool:
    """True when the caller's role needs parties' and askers' personal data (single-record reads only)."""
    return identity.role in CASE_HANDLERS


def require_case_handler(identity: Identity) -> None:
    """403 unless the caller handles disputes."""
    if identity.role not in CASE_HANDLERS:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not handle mediation cases")


def require_legal_staff(identity: Identity) -> None:
    """403 unless the caller may record legal work (read-only API keys may not)."""
    if identity.role not in LEGAL_STAFF:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not record legal work")
    require_write(identity, "legal")


def require_legal_admin(identity: Identity) -> None:
    """403 unless the caller may manage advisers and officers."""
    if identity.role not in LEGAL_ADMINS:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not manage legal staff")
    require_write(identity, "legal")


def require_auditor(identity: Identity) -> None:
    """403 unless the caller reads the audit log."""
    if identity.role not in AUDITORS:
        raise Problem(403, "forbidden", "only auditors read the audit log")
