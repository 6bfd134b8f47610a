"""The user family."""

from __future__ import annotations

from datetime import datetime

import sqlmodel
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, String

from gateway.db import GatewayModel
from shared.columns import UTCDateTime
from shared.identity import Role

USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{2,64}$"


class UserBase(BaseModel):
    """Fields an admin sets."""

    username: str = Field(min_length=2, max_length=64, pattern=USERNAME_PATTERN)
    display_name: str = Field("", max_length=100)
    role: Role
    scope_unit_id: str | None = Field(None, min_length=1, max_length=26, description="root of what the user may see")
    person_id: str | None = Field(None, max_length=26, description="the user in the grid registry, if any")


class UserCreate(UserBase):
    """A new user with their initial password."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "wang.secretary",
                    "display_name": "王书记",
                    "role": "village_secretary",
                    "scope_unit_id": "01JD0000000000000000000V01",
                    "password": "a-long-initial-password",
                }
            ]
        }
    )

    password: str = Field(min_length=8, max_length=128)


class UserUpdate(BaseModel):
    """What an admin may change on a user; omitted fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"active": False}, {"role": "grid_worker", "scope_unit_id": "01JD0000000000000000000G01"}]}
    )

    display_name: str | None = Field(None, max_length=100)
    role: Role | None = None
    scope_unit_id: str | None = Field(None, min_length=1, max_length=26)
    person_id: str | None = Field(None, max_length=26)
    active: bool | None = Field(None, description="false disables the account: its tokens stop working")
    password: str | None = Field(None, min_length=8, max_length=128, description="a new password")


class User(GatewayModel, table=True):
    """A stored user; only the argon2 hash of the password is kept."""

    __tablename__ = "users"

    display_name: str = sqlmodel.Field("", max_length=100)
    role: Role = sqlmodel.Field(sa_column=Column(String(32), nullable=False))
    scope_unit_id: str | None = sqlmodel.Field(None, max_length=26)
    person_id: str | None = sqlmodel.Field(None, max_length=26)
    id: str = sqlmodel.Field(primary_key=True, max_length=26)
    username: str = sqlmodel.Field(max_length=64, unique=True, index=True)
    password_hash: str = sqlmodel.Field(max_length=200)
    # Materialised path of the scope unit when it was set, so lists filter by subtree here.
    scope_path: str | None = sqlmodel.Field(None, max_length=400, index=True)
    active: bool = True
    created_by: str | None = sqlmodel.Field(None, max_length=26)
    created_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)
    updated_at: datetime | None = sqlmodel.Field(default=None, sa_type=UTCDateTime)


class UserPublic(UserBase):
    """A user as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    active: bool
    created_at: datetime
    updated_at: datetime | None = None


class Token(BaseModel):
    """OAuth2 bearer token answer."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"access_token": "eyJhbGciOi…", "token_type": "bearer", "expires_in": 3600}]})

    access_token: str
    token_type: str = "bearer"
    expires_in: int
