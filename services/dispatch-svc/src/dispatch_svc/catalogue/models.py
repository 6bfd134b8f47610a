"""The service type family: what clients send, what is stored, what is returned."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import Column
from sqlmodel import JSON
from sqlmodel import Field as TableField  # table columns; API models use pydantic.Field, which enforces `pattern`

from dispatch_svc.db import DispatchModel
from shared.columns import UTCDateTime, enum_type

# Open311 service codes travel in paths such as services/{code}.json: no dots or slashes.
SERVICE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"


class Category(StrEnum):
    """The kind of service a type belongs to."""

    EMERGENCY_TRAINING = "emergency_training"
    CULTURE = "culture"
    HEALTH = "health"
    LEGAL = "legal"
    ELDERLY_CARE = "elderly_care"
    REPAIRS = "repairs"
    OTHER = "other"


class RouteTo(StrEnum):
    """Whom a new order of this type is proposed to first."""

    LIAISON = "liaison"
    PROVIDER = "provider"


class Datatype(StrEnum):
    """Open311 attribute datatypes."""

    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLEVALUELIST = "singlevaluelist"
    MULTIVALUELIST = "multivaluelist"


class AttributeValue(BaseModel):
    """One allowed value of a list attribute."""

    key: str = Field(min_length=1, max_length=50)
    name: str = Field(min_length=1, max_length=100)


class AttributeSpec(BaseModel):
    """An extra attribute an order of this type carries (an Open311 attribute)."""

    code: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_]+$")
    description: str = Field(min_length=1, max_length=200)
    datatype: Datatype = Datatype.STRING
    required: bool = False
    values: list[AttributeValue] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _lists_need_values(self) -> AttributeSpec:
        if self.datatype in (Datatype.SINGLEVALUELIST, Datatype.MULTIVALUELIST) and not self.values:
            raise ValueError("a list attribute needs values")
        return self


class ServiceTypeFields(BaseModel):
    """Fields a client sets."""

    name: str = Field(min_length=1, max_length=100, description="e.g. 应急救护培训")
    category: Category
    description: str = Field(default="", max_length=2000)
    response_hours: int = Field(default=24, ge=1, le=24 * 30, description="hours from submission to acceptance")
    completion_days: int = Field(
        default=7, ge=0, le=366, description="calendar days (Asia/Shanghai) after the submission day; due at the midnight ending it"
    )
    route_to: RouteTo = RouteTo.LIAISON


class ServiceTypeCreate(ServiceTypeFields):
    """Add a service type to the catalogue."""

    code: str = Field(min_length=1, max_length=32, pattern=SERVICE_CODE_PATTERN, description="stable code, also the Open311 service_code")
    attributes: list[AttributeSpec] = Field(default_factory=list, max_length=50)

    @field_validator("attributes")
    @classmethod
    def _unique_codes(cls, value: list[AttributeSpec]) -> list[AttributeSpec]:
        codes = [a.code for a in value]
        if len(codes) != len(set(codes)):
            raise ValueError("attribute codes must be unique")
        return value


class ServiceTypeUpdate(BaseModel):
    """Change a service type; omitted fields stay."""

    name: str | None = Field(None, min_length=1, max_length=100)
    category: Category | None = None
    description: str | None = Field(None, max_length=2000)
    response_hours: int | None = Field(None, ge=1, le=24 * 30)
    completion_days: int | None = Field(None, ge=0, le=366)
    route_to: RouteTo | None = None
    attributes: list[AttributeSpec] | None = Field(None, max_length=50)
    active: bool | None = None


class ServiceType(DispatchModel, table=True):
    """A stored service type."""

    __tablename__ = "service_types"

    id: str = TableField(primary_key=True, max_length=26)
    code: str = TableField(max_length=32, unique=True)
    name: str = TableField(max_length=100)
    category: Category = TableField(sa_column=Column(enum_type(Category, 30), nullable=False))
    description: str = TableField(default="", max_length=2000)
    response_hours: int
    completion_days: int
    route_to: RouteTo = TableField(sa_column=Column(enum_type(RouteTo, 16), nullable=False))
    attributes: list[dict[str, Any]] = TableField(default_factory=list, sa_type=JSON)
    active: bool = True
    created_at: datetime = TableField(sa_type=UTCDateTime)
    updated_at: datetime = TableField(sa_type=UTCDateTime)


class ServiceTypePublic(BaseModel):
    """A service type as the API returns it."""

    id: str
    code: str
    name: str
    category: Category
    description: str
    response_hours: int
    completion_days: int
    route_to: RouteTo
    attributes: list[AttributeSpec]
    active: bool
    created_at: datetime
    updated_at: datetime
