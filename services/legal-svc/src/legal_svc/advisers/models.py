"""The adviser family: advisers, their village assignments, consultations and legal affairs."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlmodel
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from legal_svc.db import LegalModel, town_index
from legal_svc.privacy import Phone
from shared.columns import enum_column, fen_column, utc_column

ID = 26


class ConsultationCategory(StrEnum):
    """What a consultation was about."""

    CONTRACT = "contract"
    LAND = "land"
    FAMILY = "family"
    LABOUR = "labour"
    NEIGHBOUR = "neighbour"
    DEBT = "debt"
    INHERITANCE = "inheritance"
    FRAUD = "fraud"
    ADMINISTRATIVE = "administrative"
    OTHER = "other"


class AffairKind(StrEnum):
    """The kind of legal affair an adviser handles."""

    CONTRACT_REVIEW = "contract_review"
    LITIGATION_SUPPORT = "litigation_support"
    DOCUMENT_DRAFTING = "document_drafting"
    LEGAL_OPINION = "legal_opinion"
    NEGOTIATION = "negotiation"
    OTHER = "other"


class AffairStatus(StrEnum):
    """Open until closed with an outcome."""

    OPEN = "open"
    CLOSED = "closed"


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


# --- advisers ---------------------------------------------------------------------------------


class AdviserBase(BaseModel):
    """Fields a client sets on an adviser."""

    name: str = Field(min_length=1, max_length=50)
    firm: str = Field(min_length=1, max_length=100, description="law firm or legal service office")
    licence_number: str | None = Field(None, max_length=50, description="lawyer's or legal worker's licence")
    unit_id: str = Field(max_length=ID, description="the unit (usually the town) the adviser serves")

    _strip = field_validator("name", "firm")(classmethod(lambda cls, v: _not_blank(v)))


class AdviserCreate(AdviserBase):
    """Register a legal adviser."""


class Adviser(LegalModel, table=True):
    """A stored legal adviser."""

    __tablename__ = "advisers"

    name: str = sqlmodel.Field(max_length=50)
    firm: str = sqlmodel.Field(max_length=100)
    licence_number: str | None = sqlmodel.Field(None, max_length=50)
    id: str = sqlmodel.Field(primary_key=True, max_length=ID)
    unit_id: str = sqlmodel.Field(max_length=ID, index=True)
    created_at: datetime = sqlmodel.Field(sa_column=utc_column())
    retired_on: date | None = None


class AdviserPublic(AdviserBase):
    """An adviser as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    retired_on: date | None


# --- assignments ------------------------------------------------------------------------------


class AssignmentCreate(BaseModel):
    """Assign the adviser to a village from `starts_on` (optionally until `ends_on`), with duty weekdays."""

    unit_id: str = Field(max_length=ID, description="the village served")
    starts_on: date
    ends_on: date | None = None
    duty_weekdays: list[int] = Field(default_factory=list, description="ISO weekdays on duty in the village: 1 = Monday … 7 = Sunday")

    @field_validator("duty_weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(d < 1 or d > 7 for d in value):
            raise ValueError("weekdays run from 1 (Monday) to 7 (Sunday)")
        return sorted(set(value))

    @model_validator(mode="after")
    def _dates(self) -> AssignmentCreate:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class AssignmentEnd(BaseModel):
    """End an assignment on a date."""

    ends_on: date


class AdviserAssignment(LegalModel, table=True):
    """An adviser's dated assignment to a village; duty weekdays kept as digits ('135' = Mon, Wed, Fri)."""

    __tablename__ = "adviser_assignments"

    id: str = sqlmodel.Field(primary_key=True, max_length=ID)
    adviser_id: str = sqlmodel.Field(foreign_key="advisers.id", max_length=ID, index=True)
    unit_id: str = sqlmodel.Field(max_length=ID, index=True)
    starts_on: date
    ends_on: date | None = None
    duty_days: str = sqlmodel.Field(default="", max_length=7)


class AssignmentPublic(BaseModel):
    """An assignment as the API returns it."""

    id: str
    adviser_id: str
    adviser_name: str
    unit_id: str
    unit_name: str
    starts_on: date
    ends_on: date | None
    duty_weekdays: list[int]


# --- consultations ----------------------------------------------------------------------------


class ConsultationCreate(BaseModel):
    """Record a consultation an adviser answered."""

    adviser_id: str = Field(max_length=ID)
    unit_id: str = Field(max_length=ID, description="the village (or grid) where the asker lives")
    asked_on: date
    asker_name: str = Field(min_length=1, max_length=50, description="personal data: masked in lists")
    asker_phone: Phone | None = Field(None, description="personal data: masked in lists")
    category: ConsultationCategory
    question: str = Field(min_length=1, max_length=4000)
    answer: str = Field(min_length=1, max_length=8000)
    follow_up_needed: bool = False

    _strip = field_validator("asker_name", "question", "answer")(classmethod(lambda cls, v: _not_blank(v)))


class ConsultationFollowUp(BaseModel):
    """Record the follow-up of a consultation."""

    followed_up_on: date
    note: str = Field(min_length=1, max_length=4000)


class Consultation(LegalModel, table=True):
    """A stored consultation."""

    __tablename__ = "consultations"
    __table_args__ = (town_index("consultations", "asked_on"),)

    id: str = sqlmodel.Field(primary_key=True, max_length=ID)
    adviser_id: str = sqlmodel.Field(foreign_key="advisers.id", max_length=ID, index=True)
    unit_id: str = sqlmodel.Field(max_length=ID, index=True)
    town_unit_id: str | None = sqlmodel.Field(None, max_length=ID)  # the town its unit lies in now: legal_svc.towns
    asked_on: date = sqlmodel.Field(index=True)
    asker_name: str = sqlmodel.Field(max_length=50)
    asker_phone: str | None = sqlmodel.Field(None, max_length=20)
    category: ConsultationCategory = sqlmodel.Field(sa_column=enum_column(ConsultationCategory, length=24))
    question: str = sqlmodel.Field(max_length=4000)
    answer: str = sqlmodel.Field(max_length=8000)
    follow_up_needed: bool = False
    followed_up_on: date | None = None
    follow_up_note: str | None = sqlmodel.Field(None, max_length=4000)
    recorded_by: str = sqlmodel.Field(max_length=100)
    created_at: datetime = sqlmodel.Field(sa_column=utc_column())


class ConsultationPublic(BaseModel):
    """A consultation; `asker_name`/`asker_phone` are masked unless `masked` is false."""

    id: str
    adviser_id: str
    unit_id: str
    asked_on: date
    asker_name: str
    asker_phone: str | None
    masked: bool
    category: ConsultationCategory
    question: str
    answer: str
    follow_up_needed: bool
    followed_up_on: date | None
    follow_up_note: str | None
    created_at: datetime


# --- legal affairs ----------------------------------------------------------------------------


class LegalAffairCreate(BaseModel):
    """Open a legal affair (contract review, litigation support, document drafting …)."""

    adviser_id: str = Field(max_length=ID)
    unit_id: str = Field(max_length=ID, description="the unit served (village committee, town …)")
    kind: AffairKind
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    opened_on: date

    _strip = field_validator("title")(classmethod(lambda cls, v: _not_blank(v)))


class LegalAffairClose(BaseModel):
    """Close a legal affair with its outcome."""

    outcome: str = Field(min_length=1, max_length=2000)
    closed_on: date
    recovered_fen: int = Field(0, ge=0, description="economic loss recovered, in fen")


class LegalAffair(LegalModel, table=True):
    """A stored legal affair."""

    __tablename__ = "legal_affairs"
    __table_args__ = (town_index("legal_affairs", "opened_on"),)

    id: str = sqlmodel.Field(primary_key=True, max_length=ID)
    adviser_id: str = sqlmodel.Field(foreign_key="advisers.id", max_length=ID, index=True)
    unit_id: str = sqlmodel.Field(max_length=ID, index=True)
    town_unit_id: str | None = sqlmodel.Field(None, max_length=ID)  # the town its unit lies in now: legal_svc.towns
    kind: AffairKind = sqlmodel.Field(sa_column=enum_column(AffairKind, length=24))
    title: str = sqlmodel.Field(max_length=200)
    description: str | None = sqlmodel.Field(None, max_length=4000)
    opened_on: date
    status: AffairStatus = sqlmodel.Field(sa_column=enum_column(AffairStatus, length=16, index=True))
    outcome: str | None = sqlmodel.Field(None, max_length=2000)
    closed_on: date | None = sqlmodel.Field(None, index=True)
    recovered_fen: int = sqlmodel.Field(0, sa_column=fen_column())
    created_at: datetime = sqlmodel.Field(sa_column=utc_column())


class LegalAffairPublic(BaseModel):
    """A legal affair as the API returns it."""

    id: str
    adviser_id: str
    unit_id: str
    kind: AffairKind
    title: str
    description: str | None
    opened_on: date
    status: AffairStatus
    outcome: str | None
    closed_on: date | None
    recovered_fen: int
    created_at: datetime
