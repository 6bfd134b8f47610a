"""The verified caller, as the gateway forwards it to services in a short-lived signed token.

The gateway authenticates users and API keys, then sends `X-Platform-Identity: <jwt>` to the
service. Each service verifies the token and enforces scope on its own data; a service never
trusts an unsigned header.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from shared.problems import Problem

IDENTITY_HEADER = "X-Platform-Identity"
_ISSUER = "gateway"
_AUDIENCE = "grassroots-services"
_ALGORITHM = "HS256"

Domain = Literal["grid", "points", "dispatch", "legal"]
Right = Literal["read", "write"]


class Role(StrEnum):
    """What a caller is; rights follow from it (see each service's policy)."""

    PLATFORM_ADMIN = "platform_admin"
    COUNTY_ADMIN = "county_admin"
    TOWN_ADMIN = "town_admin"
    VILLAGE_SECRETARY = "village_secretary"
    GRID_WORKER = "grid_worker"
    PARTY_MEMBER = "party_member"
    MEDIATOR = "mediator"
    AUDITOR = "auditor"
    RESIDENT = "resident"
    SYSTEM = "system"  # a county system calling with an API key
    SERVICE = "service"  # the platform itself (consumers, jobs)


class Identity(BaseModel):
    """Who is calling, in which role, and which unit's subtree they may see."""

    # Frozen: one verified identity is shared by every request that presents the same token.
    model_config = ConfigDict(frozen=True)

    subject: str = Field(description="user id, API key id or service name")
    name: str = ""
    role: Role
    scope_unit_id: str | None = Field(None, description="root of the caller's subtree; None only for platform admins")
    rights: dict[Domain, Right] = Field(default_factory=dict, description="per-domain rights for API keys")
    person_id: str | None = Field(None, description="the grid registry person behind a user, if any")

    @property
    def unrestricted(self) -> bool:
        """True for callers who see the whole platform."""
        return self.role in (Role.PLATFORM_ADMIN, Role.SERVICE)

    def may_write(self, domain: Domain) -> bool:
        """API keys write only where granted; users' writes are decided by role policies."""
        if self.role == Role.SYSTEM:
            return self.rights.get(domain) == "write"
        return True


def issue_identity_token(identity: Identity, secret: str, *, ttl_seconds: int = 60) -> str:
    """Sign `identity` for forwarding to a service (the gateway, jobs and tests use this)."""
    now = datetime.now(UTC)
    claims = {
        "iss": _ISSUER,
        "aud": _AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "idn": identity.model_dump(mode="json"),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_identity_token(token: str, secret: str) -> Identity:
    """Check signature, audience and expiry; raise 401 otherwise."""
    return _verified.identity(token, secret)


class _VerifiedTokens:
    """Identities of recently verified tokens, until each token expires.

    The gateway signs one token per caller for a minute, and a caller's requests repeat it:
    remembering the result skips the HMAC and claim parsing on all but the first request.
    Only a token verified with the same secret is found again.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._known: dict[tuple[str, str], tuple[Identity, float]] = {}

    def identity(self, token: str, secret: str) -> Identity:
        key = (secret, token)
        known = self._known.get(key)
        if known is not None:
            if time.time() < known[1]:
                return known[0]
            del self._known[key]
        try:
            claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], audience=_AUDIENCE, issuer=_ISSUER)
            identity = Identity.model_validate(claims["idn"])
            expires = float(claims["exp"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise Problem(401, "unauthenticated", f"invalid identity token: {type(exc).__name__}") from exc
        if len(self._known) >= self.capacity:
            del self._known[next(iter(self._known))]  # the oldest entry: dicts keep insertion order
        self._known[key] = (identity, expires)
        return identity


_verified = _VerifiedTokens()


async def current_identity(request: Request) -> Identity:
    """FastAPI dependency: the verified caller of this request."""
    # async on purpose: FastAPI runs plain `def` dependencies in a worker thread, a thread hop on every request.
    token = request.headers.get(IDENTITY_HEADER)
    if not token:
        raise Problem(401, "unauthenticated", f"missing {IDENTITY_HEADER}")
    return verify_identity_token(token, request.app.state.settings.identity_secret.get_secret_value())


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


def require_write(identity: Identity, domain: Domain) -> None:
    """403 unless the caller may write in `domain` (read-only API keys may not)."""
    if not identity.may_write(domain):
        raise Problem(403, "forbidden", f"read-only access to {domain}")
