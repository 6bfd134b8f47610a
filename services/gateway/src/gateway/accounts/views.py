"""Login and the caller's own account, under `/api/v1/auth`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from gateway.accounts import service
from gateway.accounts.models import Token, User, UserPublic
from shared.identity import Identity
from shared.problems import Problem
from shared.service import DatabaseDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def current_user(request: Request, db: DatabaseDep, token: Annotated[str | None, Depends(bearer)]) -> User:
    """The logged-in user of this request (401 otherwise)."""
    if not token:
        raise Problem(401, "unauthenticated", "log in first", headers={"WWW-Authenticate": "Bearer"})
    user_id = service.user_id_from_token(token, secret=request.app.state.settings.jwt_secret.get_secret_value())
    async with db.session() as session:
        user = await session.get(User, user_id)
    if user is None or not user.active:
        raise Problem(401, "unauthenticated", "account disabled", headers={"WWW-Authenticate": "Bearer"})
    return user


async def caller_identity(user: Annotated[User, Depends(current_user)]) -> Identity:
    """The verified identity of the caller, to be forwarded to services."""
    return service.identity_of(user)


CallerIdentity = Annotated[Identity, Depends(caller_identity)]


@router.post("/token", response_model=Token, summary="Log in (OAuth2 password flow)")
async def login(request: Request, db: DatabaseDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password (form-encoded) for a bearer token."""
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
async def me(user: Annotated[User, Depends(current_user)]) -> UserPublic:
    """Who the bearer token belongs to, with role and scope."""
    return UserPublic.model_validate(user, from_attributes=True)
