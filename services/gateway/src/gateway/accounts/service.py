"""Passwords, users and access tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounts.models import User, UserCreate
from shared.identity import Identity, Role
from shared.ids import new_id
from shared.problems import Problem, conflict

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
_AUDIENCE = "grassroots-api"
# Verified against when a username is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(session: AsyncSession, *, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        password_matches(_DUMMY_HASH, password)
        return None
    if not user.active or not password_matches(user.password_hash, password):
        return None
    return user


async def create_user(session: AsyncSession, *, data: UserCreate) -> User:
    """Store a new user; 409 when the username is taken."""
    if await session.scalar(select(User.id).where(User.username == data.username)):
        raise conflict(f"username {data.username} is taken", code="duplicate_username")
    user = User(
        id=new_id(),
        **data.model_dump(exclude={"password"}),
        password_hash=hash_password(data.password),
        created_at=datetime.now(UTC),
    )
    session.add(user)
    return user


async def ensure_bootstrap_admin(session: AsyncSession, *, username: str, password: str) -> None:
    """Create the first platform admin when there are no users at all."""
    if await session.scalar(select(func.count()).select_from(User)):
        return
    await create_user(session, data=UserCreate(username=username, password=password, role=Role.PLATFORM_ADMIN, display_name="平台管理员"))


def issue_access_token(user: User, *, secret: str, minutes: int) -> tuple[str, int]:
    """A signed bearer token for `user` and its lifetime in seconds."""
    now = datetime.now(UTC)
    claims = {"sub": user.id, "aud": _AUDIENCE, "iat": now, "exp": now + timedelta(minutes=minutes)}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM), minutes * 60


def user_id_from_token(token: str, *, secret: str) -> str:
    """The user id inside a valid bearer token; 401 otherwise."""
    try:
        return jwt.decode(token, secret, algorithms=[_ALGORITHM], audience=_AUDIENCE)["sub"]
    except (jwt.PyJWTError, KeyError) as exc:
        raise Problem(401, "unauthenticated", "invalid or expired token", headers={"WWW-Authenticate": "Bearer"}) from exc


def identity_of(user: User) -> Identity:
    """The identity forwarded to services for `user`."""
    return Identity(subject=user.id, name=user.username, role=user.role, scope_unit_id=user.scope_unit_id, person_id=user.person_id)
