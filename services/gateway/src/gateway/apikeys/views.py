"""API key administration under `/api/v1/auth/api-keys`."""

from __future__ import annotations

from fastapi import Request

from gateway.accounts import authority
from gateway.accounts.service import identity_of
from gateway.apikeys import service
from gateway.apikeys.models import ApiKey, ApiKeyCreate, ApiKeyIssued, ApiKeyPublic, ApiKeyRevoked
from gateway.callers import Callers, CurrentUser
from shared.identity import Role
from shared.pagination import Page, PageDep, paginate
from shared.problems import not_found
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/auth/api-keys", tags=["api keys"])


def _public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(key, from_attributes=True)


def _in_scope(admin, key: ApiKey) -> bool:  # noqa: ANN001 - a user
    return authority.in_admin_scope(admin, key.scope_path)


@router.post("", status_code=201, response_model=ApiKeyIssued, summary="Issue an API key")
async def issue_key(request: Request, body: ApiKeyCreate, db: DatabaseDep, admin: CurrentUser) -> ApiKeyIssued:
    """Create a key for a county system, scoped to a unit in the admin's subtree.

    The answer's `key` is shown only this once; the gateway keeps a digest. `rights` maps
    each domain to `read` or `write`; a domain left out cannot be called with the key.
    """
    authority.require_admin(admin)
    scope_path = await authority.scope_unit_path(
        request.app.state.runtime.upstreams, identity_of(admin), body.scope_unit_id, loc=["body", "scope_unit_id"]
    )
    async with db.transaction() as session:
        key, secret = await service.issue_key(session, data=body, scope_path=scope_path, created_by=admin.id)
    return ApiKeyIssued(**_public(key).model_dump(), key=secret)


@router.get("", response_model=Page[ApiKeyPublic], summary="List API keys in the admin's scope")
async def list_keys(db: DatabaseDep, admin: CurrentUser, page: PageDep, include_revoked: bool = False) -> Page[ApiKeyPublic]:
    """Keys scoped in the admin's subtree, newest first (secrets are never shown)."""
    authority.require_admin(admin)
    statement = service.list_keys_query(
        scope_path=admin.scope_path, unrestricted=admin.role == Role.PLATFORM_ADMIN, include_revoked=include_revoked
    )
    async with db.session() as session:
        rows, total = await paginate(session, statement, page)
    return Page(items=[_public(k) for k in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/{key_id}", response_model=ApiKeyPublic, summary="Read an API key")
async def read_key(key_id: str, db: DatabaseDep, admin: CurrentUser) -> ApiKeyPublic:
    """One key; 404 when missing or outside the admin's subtree."""
    authority.require_admin(admin)
    async with db.session() as session:
        key = await service.get_key(session, key_id=key_id)
    if not _in_scope(admin, key):
        raise not_found("API key")
    return _public(key)


@router.post("/{key_id}/revoke", response_model=ApiKeyRevoked, summary="Revoke an API key")
async def revoke_key(
    key_id: str, db: DatabaseDep, admin: CurrentUser, callers: Callers
) -> ApiKeyRevoked:
    """Stop a key for good: it answers 401 from then on (at once on this gateway, within seconds on others)."""
    authority.require_admin(admin)
    async with db.transaction() as session:
        key = await service.get_key(session, key_id=key_id)
        if not _in_scope(admin, key):
            raise not_found("API key")
        key = await service.revoke_key(session, key=key)
    callers.forget_key(key.prefix)
    return ApiKeyRevoked(id=key.id, revoked_at=key.revoked_at)
