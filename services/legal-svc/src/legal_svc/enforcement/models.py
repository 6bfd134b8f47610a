"""The enforcement family: officers and their certificates, campaigns across units, inspections and rectification."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, field_validator, model_validator
from sqlmodel import Field

from legal_svc.db import LegalModel, town_index
from shared.columns import enum_column, utc_column

ID = 26


class CampaignTopic(StrEnum):
    """What a campaign tackles (集中整治)."""

    STREET_FRONT_BUSINESS = "street_front_business"
    ILLEGAL_STRUCTURES = "illegal_structures"
    ENVIRONMENT = "environment"
    MARKET_ORDER = "market_order"
    SAFETY = "safety"
    OTHER = "other"


class Rectification(StrEnum):
    """Where the rectification of an inspection's findings stands."""

    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    RECTIFIED = "rectified"


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class OfficerCreate(BaseModel):
    """Register a certified enforcement officer."""

    name: str = Field(min_length=1, max_length=50)
    unit_id: str = Field(max_length=ID, description="the unit whose enforcement team the officer belongs to")
    agency: str = Field(min_length=1, max_length=100, description="e.g. 禹王镇综合行政执法队")
    certificate_number: str = Field(min_length=1, max_length=50)
    certificate_valid_until: date

    _strip = field_validator("name", "agency", "certificate_number")(classmethod(lambda cls, v: _not_blank(v)))


class CertificateRenewal(BaseModel):
    """A renewed certificate."""

    certificate_number: str = Field(min_length=1, max_length=50)
    certificate_valid_until: date


class Officer(LegalModel, table=True):
    """A stored enforcement officer."""

    __tablename__ = "enforcement_officers"

    id: str = Field(primary_key=True, max_length=ID)
    name: str = Field(max_length=50)
    unit_id: str = Field(max_length=ID, index=True)
    agency: str = Field(max_length=100)
    certificate_number: str = Field(max_length=50, unique=True)
    certificate_valid_until: date = Field(index=True)
    created_at: datetime = Field(sa_column=utc_column())


class OfficerPublic(BaseModel):
    """An officer; `certificate_days_left` is negative once the certificate has expired."""

    id: str
    name: str
    unit_id: str
    agency: str
    certificate_number: str
    certificate_valid_until: date
    certificate_days_left: int
    created_at: datetime


class CampaignCreate(BaseModel):
    """Log an enforcement campaign led by one unit, reaching the listed units."""

    theme: str = Field(min_length=1, max_length=200, description="e.g. 临街商铺占道经营整治")
    topic: CampaignTopic
    unit_id: str = Field(max_length=ID, description="the leading unit")
    unit_ids: list[str] = Field(default_factory=list, max_length=100, description="units covered (the leading unit is always one)")
    starts_on: date
    ends_on: date | None = None
    description: str | None = Field(None, max_length=4000)

    _strip = field_validator("theme")(classmethod(lambda cls, v: _not_blank(v)))

    @model_validator(mode="after")
    def _dates(self) -> CampaignCreate:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class Campaign(LegalModel, table=True):
    """A stored campaign."""

    __tablename__ = "enforcement_campaigns"

    id: str = Field(primary_key=True, max_length=ID)
    theme: str = Field(max_length=200)
    topic: CampaignTopic = Field(sa_column=enum_column(CampaignTopic, length=24))
    unit_id: str = Field(max_length=ID, index=True)
    starts_on: date = Field(index=True)
    ends_on: date | None = None
    description: str | None = Field(None, max_length=4000)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=utc_column())


class CampaignUnit(LegalModel, table=True):
    """A unit a campaign covers."""

    __tablename__ = "enforcement_campaign_units"
    __table_args__ = (town_index("enforcement_campaign_units"),)

    campaign_id: str = Field(foreign_key="enforcement_campaigns.id", primary_key=True, max_length=ID)
    unit_id: str = Field(primary_key=True, max_length=ID, index=True)
    town_unit_id: str | None = Field(None, max_length=ID)  # the town its unit lies in now: legal_svc.towns


class CampaignPublic(BaseModel):
    """A campaign with the units it covers and its inspection counts."""

    id: str
    theme: str
    topic: CampaignTopic
    unit_id: str
    unit_ids: list[str]
    starts_on: date
    ends_on: date | None
    description: str | None
    inspections: int
    rectifications_pending: int
    created_at: datetime


class InspectionCreate(BaseModel):
    """Record an inspection (within a campaign or on its own) with its findings."""

    campaign_id: str | None = Field(None, max_length=ID)
    unit_id: str = Field(max_length=ID)
    inspected_on: date
    target: str = Field(min_length=1, max_length=200, description="the shop, site or structure inspected")
    findings: str = Field(min_length=1, max_length=4000)
    officer_ids: list[str] = Field(default_factory=list, max_length=10)
    rectification: Rectification = Rectification.NOT_REQUIRED
    rectification_due: date | None = None

    @model_validator(mode="after")
    def _due(self) -> InspectionCreate:
        if self.rectification == Rectification.PENDING and self.rectification_due is None:
            raise ValueError("a pending rectification needs rectification_due")
        if self.rectification_due is not None and self.rectification_due < self.inspected_on:
            raise ValueError("rectification_due is before inspected_on")
        return self


class RectificationDone(BaseModel):
    """The findings were rectified."""

    rectified_on: date
    note: str | None = Field(None, max_length=2000)


class Inspection(LegalModel, table=True):
    """A stored inspection."""

    __tablename__ = "enforcement_inspections"
    __table_args__ = (town_index("enforcement_inspections", "inspected_on"),)

    id: str = Field(primary_key=True, max_length=ID)
    campaign_id: str | None = Field(None, foreign_key="enforcement_campaigns.id", max_length=ID, index=True)
    unit_id: str = Field(max_length=ID, index=True)
    town_unit_id: str | None = Field(None, max_length=ID)  # the town its unit lies in now: legal_svc.towns
    inspected_on: date = Field(index=True)
    target: str = Field(max_length=200)
    findings: str = Field(max_length=4000)
    officer_ids: str = Field(default="", max_length=300, description="comma-separated officer ids")
    rectification: Rectification = Field(sa_column=enum_column(Rectification, length=16, index=True))
    rectification_due: date | None = None
    rectified_on: date | None = None
    rectification_note: str | None = Field(None, max_length=2000)
    created_at: datetime = Field(sa_column=utc_column())


class InspectionPublic(BaseModel):
    """An inspection; `overdue` when a pending rectification passed its due date."""

    id: str
    campaign_id: str | None
    unit_id: str
    inspected_on: date
    target: str
    findings: str
    officer_ids: list[str]
    rectification: Rectification
    rectification_due: date | None
    rectified_on: date | None
    rectification_note: str | None
    overdue: bool
    created_at: datetime
