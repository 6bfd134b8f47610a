"""Masking personal data in answers: whole only for roles that need it."""

from __future__ import annotations

from dispatch_svc.access import HANDLERS
from shared.identity import Identity


def mask_phone(phone: str | None) -> str | None:
    """138****1234 for an 11-digit mobile; keep the last four of anything else."""
    if not phone:
        return phone
    if len(phone) >= 11:
        return f"{phone[:3]}****{phone[-4:]}"
    return "****" + phone[-4:] if len(phone) > 4 else "****"


def phone_for(identity: Identity, phone: str | None, *, in_list: bool) -> str | None:
    """A phone as this caller may see it: masked in lists, and for callers who do not handle orders."""
    if in_list or identity.role not in HANDLERS:
        return mask_phone(phone)
    return phone
