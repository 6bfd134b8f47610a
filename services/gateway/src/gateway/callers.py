"""Who is calling: a user with a bearer token, a county system with an API key, or nobody.

Users and keys are read from the database at most every `AUTH_CACHE_S` per process (changes
made through this gateway take effect at once), then each caller gets a rate-limit token.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import select

from gateway.accounts.models import User
from gateway.accounts.service import identity_of, user_id_from_token
from gateway.apikeys.models import ApiKey
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings
from shared.database import Database
from shared.identity import Identity, Role
from shared.local_time import as_utc
from shared.problems import Problem

API_KEY_PREFIX = "gk_"

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False, description="a user's access token")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="a county system's API key")


def split_api_key(key: str) -> tuple[str, str] | None:
    """(public prefix, secret) of a well-formed key `gk_<8 hex>_<secret>`, else None."""
    cut = len(API_KEY_PREFIX) + 8
    if not key.startswith(API_KEY_PREFIX) or key[cut : cut + 1] != "_" or len(key) <= cut + 1:
        return None
    return key[:cut], key[cut + 1 :]


def digest_secret(secret: str) -> str:
    """SHA-256 of a key's secret (keys are long random strings, so no slow hash is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """A verified caller and the rate-limit bucket it draws on."""

    identity: Identity
    user: User | None = None
    key: ApiKey | None = None

    @property
    def rate_key(self) -> str:
        """The bucket's name."""
        return f"key:{self.key.id}" if self.key is not None else f"user:{self.identity.subject}"


class CallerDirectory:
    """Finds users and keys, with a short per-process cache, and rate-limits callers."""

    def __init__(self, settings: GatewaySettings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.limiter = RateLimiter()
        self._jwt_secret = settings.jwt_secret.get_secret_value()
        self._users: dict[str, tuple[User | None, float]] = {}
        self._keys: dict[str, tuple[ApiKey | None, float]] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        # One Caller per cached user object: a user re-read from the database gets a new one.
        self._callers: dict[str, Caller] = {}

    def forget_user(self, user_id: str) -> None:
        """Drop a cached user after it changed."""
        self._users.pop(user_id, None)

    def forget_key(self, prefix: str) -> None:
        """Drop a cached key after it changed."""
        self._keys.pop(prefix, None)

    def _fresh(self, stamp: float) -> bool:
        return time.monotonic() - stamp < self.settings.auth_cache_s

    async def user(self, user_id: str) -> User | None:
        """The stored user (possibly a few seconds old)."""
        cached = self._users.get(user_id)
        if cached is not None and self._fresh(cached[1]):
            return cached[0]
        async with self.database.session() as session:
            user = await session.get(User, user_id)
        if len(self._users) > 50_000:
            self._users.clear()
        self._users[user_id] = (user, time.monotonic())
        return user

    async def key(self, prefix: str) -> ApiKey | None:
        """The stored key with this prefix (possibly a few seconds old)."""
        cached = self._keys.get(prefix)
        if cached is not None and self._fresh(cached[1]):
            return cached[0]
        async with self.database.session() as session:
            key = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if len(self._keys) > 50_000:
            self._keys.clear()
        self._keys[prefix] = (key, time.monotonic())
        return key

    def _user_id(self, token: str) -> str:
        # A verified token is remembered until it expires: checking the signature on every
        # request costs more than the rest of the gateway's own work.
        cached = self._tokens.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        user_id, expires = user_id_from_token(token, secret=self._jwt_secret)
        if len(self._tokens) > 50_000:
            self._tokens.clear()
        self._tokens[token] = (user_id, expires)
        return user_id

    async def from_token(self, token: str) -> Caller:
        """The caller behind a bearer token; 401 when invalid, expired or disabled."""
        user = await self.user(self._user_id(token))
        if user is None or not user.active:
            raise Problem(401, "unauthenticated", "account disabled", headers={"WWW-Authenticate": "Bearer"})
        caller = self._callers.get(user.id)
        if caller is None or caller.user is not user:
            if len(self._callers) > 50_000:
                self._callers.clear()
            caller = self._callers[user.id] = Caller(identity=identity_of(user), user=user)
        return caller

    async def from_api_key(self, presented: str) -> Caller:
        """The caller behind an API key; 401 when unknown, wrong, expired or revoked."""
        parts = split_api_key(presented)
        key = await self.key(parts[0]) if parts else None
        if key is None or not hmac.compare_digest(key.secret_hash, digest_secret(parts[1])):
            raise Problem(401, "unauthenticated", "invalid API key")
        if key.revoked_at is not None:
            raise Problem(401, "unauthenticated", "API key revoked")
        if key.expires_at is not None and as_utc(key.expires_at) <= datetime.now(UTC):
            raise Problem(401, "unauthenticated", "API key expired")
        identity = Identity(subject=key.id, name=key.name, role=Role.SYSTEM, scope_unit_id=key.scope_unit_id, rights=key.rights)
        return Caller(identity=identity, key=key)

    def limit(self, caller: Caller) -> None:
        """Draw one token from the caller's bucket (429 with Retry-After when empty)."""
        if caller.key is not None and caller.key.rate_limit_per_minute:
            per_minute = caller.key.rate_limit_per_minute
            burst = per_minute
        else:
            per_minute, burst = self.settings.rate_limit_per_minute, self.settings.rate_limit_burst
        self.limiter.check(caller.rate_key, per_minute=per_minute, burst=burst)

    def limit_anonymous(self, request: Request) -> None:
        """Draw one token from the bucket of an anonymous client's address."""
        address = request.client.host if request.client else "unknown"
        self.limiter.check(
            f"anon:{address}",
            per_minute=self.settings.anonymous_rate_limit_per_minute,
            burst=self.settings.anonymous_rate_limit_burst,
        )


def directory(request: Request) -> CallerDirectory:
    """The app's caller directory."""
    return request.app.state.runtime.callers


async def _directory(request: Request) -> CallerDirectory:  # async: called inline, not in a worker thread
    return directory(request)


Callers = Annotated[CallerDirectory, Depends(_directory)]
"""The app's caller directory, as a dependency."""


async def resolve_caller(request: Request, token: str | None, api_key: str | None) -> Caller | None:
    """The verified, rate-limited caller of this request, or None when no credential came."""
    callers = directory(request)
    if token:
        caller = await callers.from_token(token)
    elif api_key:
        caller = await callers.from_api_key(api_key)
    else:
        return None
    callers.limit(caller)
    return caller


async def optional_caller(
    request: Request,
    token: Annotated[str | None, Depends(bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Caller | None:
    """The caller, or None for an anonymous request (then rate-limited by address)."""
    caller = await resolve_caller(request, token, api_key)
    if caller is None:
        directory(request).limit_anonymous(request)
    return caller


def _known(caller: Caller | None) -> Caller:
    if caller is None:
        raise Problem(401, "unauthenticated", "log in or send X-API-Key", headers={"WWW-Authenticate": "Bearer"})
    return caller


async def required_caller(caller: Annotated[Caller | None, Depends(optional_caller)]) -> Caller:
    """The caller; 401 for an anonymous request."""
    return _known(caller)


async def caller_of(request: Request) -> Caller:
    """`required_caller` for an endpoint outside FastAPI's dependency injection (the forwarded routes):
    the same credentials read the same way, the same rate limits, the same 401 and 429."""
    return _known(await optional_caller(request, await bearer(request), await api_key_header(request)))


async def caller_identity(caller: Annotated[Caller, Depends(required_caller)]) -> Identity:
    """The verified identity of the caller, to be forwarded to services."""
    return caller.identity


async def current_user(caller: Annotated[Caller, Depends(required_caller)]) -> User:
    """The logged-in user (API keys may not use user-only endpoints: 403)."""
    if caller.user is None:
        raise Problem(403, "forbidden", "this endpoint needs a user's login, not an API key")
    return caller.user


OptionalCaller = Annotated[Caller | None, Depends(optional_caller)]
RequiredCaller = Annotated[Caller, Depends(required_caller)]
CallerIdentity = Annotated[Identity, Depends(caller_identity)]
CurrentUser = Annotated[User, Depends(current_user)]
