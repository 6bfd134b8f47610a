"""The API key family."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlmodel
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Column

from gateway.db import GatewayModel
from shared.columns import UTCDateTime

Domain = Literal["grid", "points", "dispatch", "legal"]
Right = Literal["read", "write"]


class ApiKeyBase(BaseModel):
    """Fields an admin sets on a key."""

    name: str = Field(min_length=1, max_length=100, description="which county system uses the key")
    scope_unit_id: str = Field(min_length=1, max_length=26, description="root of what the key may see")
    rights: dict[Domain, Right] = Field(default_factory=dict, description="per-domain read or write; absent = no access")
    expires_at: datetime | None = Field(None, description="the key stops working then (UTC)")
    rate_limit_per_minute: int | None = Field(None, ge=1, le=100_000, description="overrides the gateway default for this key")


class ApiKeyCreate(ApiKeyBase):
    """A new key."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "县综治中心",
                    "scope_unit_id": "01JD0000000000000000000C01",
                    "rights": {"grid": "read", "dispatch": "write"},
                    "expires_at": "2027-12-31T16:00:00Z",
                }
            ]
        }
    )


class ApiKey(GatewayModel, table=True):
    """A stored key: only a SHA-256 digest of the secret is kept (the secret is random, not a password)."""

    __tablename__ = "api_keys"

    name: str = sqlmodel.Field(max_length=100)
    scope_unit_id: str = sqlmodel.Field(max_length=26)
    rights: dict[Domain, Right] = sqlmodel.Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    expires_at: datetime | None = sqlmodel.Field(default=None, sa_type=UTCDateTime)
    rate_limit_per_minute: int | None = None
    id: str = sqlmodel.Field(primary_key=True, max_length=26)
    prefix: str = sqlmodel.Field(max_length=16, unique=True, index=True, description="public part that identifies the key")
    secret_hash: str = sqlmodel.Field(max_length=64)
    scope_path: str = sqlmodel.Field(max_length=400, index=True)
    created_by: str = sqlmodel.Field(max_length=26)
    created_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = sqlmodel.Field(default=None, sa_type=UTCDateTime)


class ApiKeyPublic(ApiKeyBase):
    """A key as lists show it (never the secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    prefix: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyPublic):
    """The answer to creating a key: the only time `key` is shown."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"key": "gk_4f1c2a9b_…", "prefix": "gk_4f1c2a9b", "name": "县综治中心"}]})

    key: str = Field(description="send as X-API-Key (or Open311 api_key); it is not shown again")


class ApiKeyRevoked(BaseModel):
    """The answer to revoking a key."""

    id: str
    revoked_at: datetime
