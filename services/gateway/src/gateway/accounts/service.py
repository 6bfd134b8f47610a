"""Passwords, users and access tokens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounts.models import User, UserCreate, UserUpdate
from shared.identity import Identity, Role
from shared.ids import new_id
from shared.problems import Problem, conflict, not_found, unprocessable
from shared.scope import in_subtree

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
_AUDIENCE = "grassroots-api"
# Verified against when a username is unknown, so timing does not reveal which names exist.
DUMMY_HASH = _hasher.hash("not-a-real-password")


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
    # Argon2 is deliberately slow: verify off the event loop, against a dummy hash for unknown
    # names so that timing does not tell which names exist.
    matches = await asyncio.to_thread(password_matches, user.password_hash if user else DUMMY_HASH, password)
    if user is None or not user.active or not matches:
        return None
    return user


async def create_user(
    session: AsyncSession,
    *,
    data: UserCreate,
    scope_path: str | None = None,
    created_by: str | None = None,
    password_hash: str | None = None,
) -> User:
    """Store a new user; 409 when the username is taken."""
    if await session.scalar(select(User.id).where(User.username == data.username)):
        raise conflict(f"username {data.username} is taken", code="duplicate_username")
    user = User(
        id=new_id(),
        **data.model_dump(exclude={"password"}),
        password_hash=password_hash or hash_password(data.password),
        scope_path=scope_path,
        created_by=created_by,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    return user


def list_users_query(
    *, scope_path: str | None, unrestricted: bool, role: Role | None, active: bool | None, name_contains: str | None
) -> Select:
    """Users whose scope lies under `scope_path` (all for an unrestricted admin), by username."""
    statement = select(User)
    if not unrestricted:
        statement = statement.where(in_subtree(User.scope_path, scope_path) if scope_path else false())
    if role is not None:
        statement = statement.where(User.role == role)
    if active is not None:
        statement = statement.where(User.active == active)
    if name_contains:
        statement = statement.where(User.username.contains(name_contains, autoescape=True))
    return statement.order_by(User.username, User.id)


async def get_user(session: AsyncSession, *, user_id: str) -> User:
    """The user `user_id`, else 404."""
    user = await session.get(User, user_id)
    if user is None:
        raise not_found("user")
    return user


async def update_user(
    session: AsyncSession, *, user: User, data: UserUpdate, scope_path: str | None, password_hash: str | None
) -> User:
    """Apply an admin's changes to a loaded user."""
    changes = data.model_dump(exclude_unset=True, exclude={"password"})
    for name, value in changes.items():
        setattr(user, name, value)
    if "scope_unit_id" in changes:
        user.scope_path = scope_path
    if password_hash is not None:
        user.password_hash = password_hash
    user.updated_at = datetime.now(UTC)
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


def user_id_from_token(token: str, *, secret: str) -> tuple[str, float]:
    """The user id inside a valid bearer token and its expiry (epoch seconds); 401 otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], audience=_AUDIENCE)
        return claims["sub"], float(claims["exp"])
    except (jwt.PyJWTError, KeyError) as exc:
        raise Problem(401, "unauthenticated", "invalid or expired token", headers={"WWW-Authenticate": "Bearer"}) from exc


def identity_of(user: User) -> Identity:
    """The identity forwarded to services for `user`."""
    return Identity(subject=user.id, name=user.username, role=user.role, scope_unit_id=user.scope_unit_id, person_id=user.person_id)


def unprocessable_scope() -> Problem:
    """422: every account but a platform admin's needs a scope unit."""
    return unprocessable("scope_unit_id is required for this role", loc=["body", "scope_unit_id"])
