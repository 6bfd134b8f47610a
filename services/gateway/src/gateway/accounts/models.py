"""The user family."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Column, String
from sqlmodel import Field

from gateway.db import GatewayModel
from shared.identity import Role

USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{2,64}$"


class UserBase(GatewayModel):
    """Fields an admin sets."""

    username: str = Field(min_length=2, max_length=64, regex=USERNAME_PATTERN)
    display_name: str = Field("", max_length=100)
    role: Role = Field(sa_column=Column(String(32), nullable=False))
    scope_unit_id: str | None = Field(None, max_length=26, description="root of what the user may see")
    person_id: str | None = Field(None, max_length=26, description="the user in the grid registry, if any")


class UserCreate(UserBase):
    """A new user with their initial password."""

    password: str = Field(min_length=8, max_length=128)


class User(UserBase, table=True):
    """A stored user; only the argon2 hash of the password is kept."""

    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=26)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=200)
    active: bool = True
    created_at: datetime


class UserPublic(UserBase):
    """A user as the API returns it."""

    id: str
    active: bool
    created_at: datetime


class Token(BaseModel):
    """OAuth2 bearer token answer."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
