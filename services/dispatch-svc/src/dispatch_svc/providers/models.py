"""The provider family: what clients send, what is stored, what is returned."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field as TableField  # table columns; API models use pydantic.Field, which enforces `pattern`

from dispatch_svc.db import DispatchModel
from shared.columns import UTCDateTime, enum_type


class ProviderKind(StrEnum):
    """An organisation (county Red Cross, a clinic) or a team (drum association volunteers)."""

    ORGANISATION = "organisation"
    TEAM = "team"


class ProviderCreate(BaseModel):
    """Register a provider."""

    name: str = Field(min_length=1, max_length=100, description="e.g. 县红十字会")
    kind: ProviderKind = ProviderKind.ORGANISATION
    description: str = Field("", max_length=2000)
    area_unit_id: str = Field(max_length=26, description="the unit whose whole subtree the provider covers")
    service_type_ids: list[str] = Field(min_length=1, max_length=100)
    contact_name: str = Field("", max_length=100)
    contact_phone: str = Field("", max_length=30, pattern=r"^[0-9+\- ]*$")
    capacity_per_month: int = Field(10, ge=0, le=100_000, description="dispatches (or group sessions) a month")


class ProviderUpdate(BaseModel):
    """Change a provider; omitted fields stay."""

    name: str | None = Field(None, min_length=1, max_length=100)
    kind: ProviderKind | None = None
    description: str | None = Field(None, max_length=2000)
    area_unit_id: str | None = Field(None, max_length=26)
    service_type_ids: list[str] | None = Field(None, min_length=1, max_length=100)
    contact_name: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=30, pattern=r"^[0-9+\- ]*$")
    capacity_per_month: int | None = Field(None, ge=0, le=100_000)
    active: bool | None = None


class Provider(DispatchModel, table=True):
    """A stored provider; `area_path` is the covered unit's path (a prefix of every unit it serves)."""

    __tablename__ = "providers"

    id: str = TableField(primary_key=True, max_length=26)
    name: str = TableField(max_length=100)
    kind: ProviderKind = TableField(sa_column=Column(enum_type(ProviderKind, 20), nullable=False))
    description: str = TableField(default="", max_length=2000)
    area_unit_id: str = TableField(max_length=26)
    area_path: str = TableField(max_length=400, index=True)
    contact_name: str = TableField(default="", max_length=100)
    contact_phone: str = TableField(default="", max_length=30)
    capacity_per_month: int
    active: bool = True
    created_at: datetime = TableField(sa_type=UTCDateTime)
    updated_at: datetime = TableField(sa_type=UTCDateTime)


class ProviderService(DispatchModel, table=True):
    """A service type a provider offers."""

    __tablename__ = "provider_services"

    provider_id: str = TableField(sa_column=Column(String(26), ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True))
    service_type_id: str = TableField(
        sa_column=Column(String(26), ForeignKey("service_types.id"), primary_key=True, index=True)
    )


class ProviderPublic(BaseModel):
    """A provider as the API returns it (the phone masked in lists)."""

    id: str
    name: str
    kind: ProviderKind
    description: str
    area_unit_id: str
    area_path: str
    service_type_ids: list[str]
    contact_name: str
    contact_phone: str | None
    capacity_per_month: int
    active: bool
    created_at: datetime
    updated_at: datetime


class ProviderCapacity(BaseModel):
    """How much of a provider's monthly capacity is used (a group session counts once)."""

    provider_id: str
    month: str
    capacity: int
    used: int
    left: int
