"""Issuing, listing and revoking API keys."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.apikeys.models import ApiKey, ApiKeyCreate
from gateway.callers import API_KEY_PREFIX, digest_secret
from shared.ids import new_id
from shared.local_time import as_utc
from shared.problems import conflict, not_found, unprocessable
from shared.scope import in_subtree


async def issue_key(session: AsyncSession, *, data: ApiKeyCreate, scope_path: str, created_by: str) -> tuple[ApiKey, str]:
    """Store a new key and return it with its full secret (shown to the admin once)."""
    if data.expires_at is not None and as_utc(data.expires_at) <= datetime.now(UTC):
        raise unprocessable("expires_at must lie in the future", loc=["body", "expires_at"])
    if not data.rights:
        raise unprocessable("grant at least one domain", loc=["body", "rights"])
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id(),
        **data.model_dump(),
        prefix=prefix,
        secret_hash=digest_secret(secret),
        scope_path=scope_path,
        created_by=created_by,
        created_at=datetime.now(UTC),
    )
    session.add(key)
    return key, f"{prefix}_{secret}"


def list_keys_query(*, scope_path: str | None, unrestricted: bool, include_revoked: bool) -> Select:
    """Keys scoped in the admin's subtree, newest first."""
    statement = select(ApiKey)
    if not unrestricted:
        statement = statement.where(in_subtree(ApiKey.scope_path, scope_path) if scope_path else false())
    if not include_revoked:
        statement = statement.where(ApiKey.revoked_at.is_(None))
    return statement.order_by(ApiKey.created_at.desc(), ApiKey.id)


async def get_key(session: AsyncSession, *, key_id: str) -> ApiKey:
    """The key `key_id`, else 404."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise not_found("API key")
    return key


async def revoke_key(session: AsyncSession, *, key: ApiKey) -> ApiKey:
    """Revoke a key for good; 409 when it already is."""
    if key.revoked_at is not None:
        raise conflict("the key is already revoked", code="already_revoked")
    key.revoked_at = datetime.now(UTC)
    session.add(key)
    return key
