"""Login, the caller's own account, and user administration under `/api/v1/auth`."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordRequestForm

from gateway.accounts import authority, service
from gateway.accounts.models import Token, User, UserCreate, UserPublic, UserUpdate
from gateway.callers import Callers, CurrentUser
from shared.identity import Role
from shared.pagination import Page, PageDep, paginate
from shared.problems import Problem
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/auth", tags=["auth"])


def _public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/token", response_model=Token, summary="Log in (OAuth2 password flow)")
async def login(request: Request, db: DatabaseDep, callers: Callers, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password (form-encoded) for a bearer token.

    Rate-limited per client address; 401 for a wrong password or a disabled account.
    """
    callers.limit_anonymous(request)
    async with db.session() as session:
        user = await service.authenticate(session, username=form.username, password=form.password)
    if user is None:
        raise Problem(401, "unauthenticated", "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    settings = request.app.state.settings
    token, expires_in = service.issue_access_token(
        user, secret=settings.jwt_secret.get_secret_value(), minutes=settings.access_token_minutes
    )
    return Token(access_token=token, expires_in=expires_in)


@router.get("/me", response_model=UserPublic, summary="The logged-in user")
async def me(user: CurrentUser) -> UserPublic:
    """Who the bearer token belongs to, with role and scope."""
    return _public(user)


@router.post("/users", status_code=201, response_model=UserPublic, summary="Create a user")
async def create_user(request: Request, body: UserCreate, db: DatabaseDep, admin: CurrentUser) -> UserPublic:
    """Add an account with a role and a scope unit inside the admin's subtree.

    403 when the admin may not grant the role; 422 `scope_outside` when the scope unit is not
    in the admin's subtree (grid-svc decides); 409 `duplicate_username`.
    """
    authority.require_admin(admin)
    authority.require_may_grant(admin, body.role)
    scope_path = await _checked_scope(request, admin, body.role, body.scope_unit_id)
    password_hash = await asyncio.to_thread(service.hash_password, body.password)
    async with db.transaction() as session:
        user = await service.create_user(
            session, data=body, scope_path=scope_path, created_by=admin.id, password_hash=password_hash
        )
    return _public(user)


@router.get("/users", response_model=Page[UserPublic], summary="List users in the admin's scope")
async def list_users(
    db: DatabaseDep,
    admin: CurrentUser,
    page: PageDep,
    role: Role | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=64, description="username contains")] = None,
) -> Page[UserPublic]:
    """Accounts whose scope unit lies in the admin's subtree, ordered by username."""
    authority.require_admin(admin)
    statement = service.list_users_query(
        scope_path=admin.scope_path,
        unrestricted=admin.role == Role.PLATFORM_ADMIN,
        role=role,
        active=active,
        name_contains=q,
    )
    async with db.session() as session:
        rows, total = await paginate(session, statement, page)
    return Page(items=[_public(u) for u in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/users/{user_id}", response_model=UserPublic, summary="Read a user")
async def read_user(user_id: str, db: DatabaseDep, admin: CurrentUser) -> UserPublic:
    """One account; 404 when missing or outside the admin's subtree."""
    authority.require_admin(admin)
    async with db.session() as session:
        user = await service.get_user(session, user_id=user_id)
    if not authority.in_admin_scope(admin, user.scope_path):
        raise service.not_found("user")
    return _public(user)


@router.patch("/users/{user_id}", response_model=UserPublic, summary="Change or disable a user")
async def update_user(
    request: Request, user_id: str, body: UserUpdate, db: DatabaseDep, admin: CurrentUser, callers: Callers
) -> UserPublic:
    """Change a user's name, role, scope or password, or disable (`active: false`) the account.

    A disabled account's tokens stop working at once on this gateway (within seconds elsewhere).
    """
    authority.require_admin(admin)
    if user_id == admin.id and (body.active is False or body.role is not None or body.scope_unit_id is not None):
        raise Problem(403, "forbidden", "admins may not disable, re-role or re-scope themselves")
    async with db.session() as session:
        current = await service.get_user(session, user_id=user_id)
    authority.require_manages(admin, current.role, current.scope_path, "user")
    role = body.role or current.role
    if body.role is not None:
        authority.require_may_grant(admin, body.role)
    scope_path = current.scope_path
    if "scope_unit_id" in body.model_fields_set or body.role is not None:
        scope_unit_id = body.scope_unit_id if "scope_unit_id" in body.model_fields_set else current.scope_unit_id
        scope_path = await _checked_scope(request, admin, role, scope_unit_id)
        body.scope_unit_id = scope_unit_id
    password_hash = await asyncio.to_thread(service.hash_password, body.password) if body.password else None
    async with db.transaction() as session:
        user = await service.get_user(session, user_id=user_id)
        user = await service.update_user(session, user=user, data=body, scope_path=scope_path, password_hash=password_hash)
    callers.forget_user(user_id)
    return _public(user)


async def _checked_scope(request: Request, admin: User, role: Role, scope_unit_id: str | None) -> str | None:
    """The scope path for an account, checked against the admin's subtree through grid-svc."""
    if scope_unit_id is None:
        if role == Role.PLATFORM_ADMIN:
            return None
        raise service.unprocessable_scope()
    return await authority.scope_unit_path(
        request.app.state.runtime.upstreams, service.identity_of(admin), scope_unit_id, loc=["body", "scope_unit_id"]
    )
