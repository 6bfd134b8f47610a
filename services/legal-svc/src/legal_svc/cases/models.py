"""The case family: mediation cases with parties, mediators, sessions, follow-ups, numbering and the read audit.

A full case is a legal record under the People's Mediation Law: it is only ever returned by the
audited read; every other answer is a masked summary.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, field_validator, model_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from legal_svc.db import LegalModel, town_index
from legal_svc.privacy import IdNumber, Phone
from shared.columns import enum_column, fen_column, utc_column

ID = 26
JUDICIAL_CONFIRMATION_DAYS = 30  # People's Mediation Law art. 33: apply within 30 days of the agreement


class CaseCategory(StrEnum):
    """What the dispute is about."""

    NEIGHBOUR = "neighbour"
    LAND = "land"
    FAMILY = "family"
    MARRIAGE = "marriage"
    LABOUR = "labour"
    CONTRACT = "contract"
    DEBT = "debt"
    PROPERTY = "property"
    DAMAGES = "damages"
    CONSUMER = "consumer"
    OTHER = "other"


class CaseStatus(StrEnum):
    """registered → accepted → mediating → agreed | failed → closed."""

    REGISTERED = "registered"
    ACCEPTED = "accepted"
    MEDIATING = "mediating"
    AGREED = "agreed"
    FAILED = "failed"
    CLOSED = "closed"


class RiskLevel(StrEnum):
    """Escalation risk of a dispute (high: may turn into a petition, violence or a mass incident)."""

    NORMAL = "normal"
    ELEVATED = "elevated"
    HIGH = "high"


class PartyRole(StrEnum):
    """A party's side in the dispute."""

    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    THIRD_PARTY = "third_party"


class Affiliation(StrEnum):
    """Where a mediator comes from (full-time, or a volunteer from another body)."""

    FULL_TIME_MEDIATOR = "full_time_mediator"
    VILLAGE_CADRE = "village_cadre"
    ENFORCEMENT_TEAM = "enforcement_team"
    MARKET_SUPERVISION = "market_supervision"
    POLICE_STATION = "police_station"
    LEGAL_ADVISER = "legal_adviser"
    PARTY_MEMBER_VOLUNTEER = "party_member_volunteer"


class MediatorRole(StrEnum):
    """A mediator's part in the case."""

    LEAD = "lead"
    MEMBER = "member"


class Referral(StrEnum):
    """Where a failed mediation was referred."""

    ARBITRATION = "arbitration"
    LITIGATION = "litigation"
    ADMINISTRATIVE = "administrative"
    NONE = "none"


class Performance(StrEnum):
    """How far an agreement was performed, as seen on a follow-up visit."""

    FULFILLED = "fulfilled"
    PARTIAL = "partial"
    NOT_FULFILLED = "not_fulfilled"


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


# --- requests ---------------------------------------------------------------------------------


class PartyIn(BaseModel):
    """A party to the dispute (personal data)."""

    role: PartyRole
    name: str = Field(min_length=1, max_length=50)
    id_number: IdNumber | None = Field(None, description="resident ID number")
    phone: Phone | None = None
    address: str | None = Field(None, max_length=200)

    _strip = field_validator("name")(classmethod(lambda cls, v: _not_blank(v)))


class MediatorIn(BaseModel):
    """A mediator taking part: a full-time mediator or a volunteer from another body."""

    name: str = Field(min_length=1, max_length=50)
    affiliation: Affiliation
    role: MediatorRole = MediatorRole.MEMBER
    organisation: str | None = Field(None, max_length=100, description="e.g. 禹王司法所, 禹王派出所, 某村委会")
    person_id: str | None = Field(None, max_length=26, description="the grid registry person, if known (decides party membership)")
    adviser_id: str | None = Field(None, max_length=26, description="the legal adviser, when the affiliation is legal_adviser")

    _strip = field_validator("name")(classmethod(lambda cls, v: _not_blank(v)))


class CaseCreate(BaseModel):
    """Register a dispute as a mediation case; its number is assigned per town and year."""

    unit_id: str = Field(max_length=ID, description="where the dispute arose (town or below)")
    category: CaseCategory
    facts: str = Field(min_length=1, max_length=8000)
    points_in_dispute: str = Field(min_length=1, max_length=4000)
    amount_in_dispute_fen: int = Field(0, ge=0)
    reported_on: date | None = Field(None, description="when the dispute was reported (defaults to today)")
    parties: list[PartyIn] = Field(min_length=2, max_length=30)
    mediators: list[MediatorIn] = Field(default_factory=list, max_length=20)
    cooperating_unit_ids: list[str] = Field(
        default_factory=list, max_length=10, description="other units joining the mediation (joint mediation across units)"
    )

    _strip = field_validator("facts", "points_in_dispute")(classmethod(lambda cls, v: _not_blank(v)))


class RiskUpdate(BaseModel):
    """Set the escalation risk of a case."""

    risk_level: RiskLevel
    note: str | None = Field(None, max_length=1000)


class AcceptIn(BaseModel):
    """Accept a registered case."""

    accepted_on: date | None = None


class AgreementIn(BaseModel):
    """Mediation reached an agreement."""

    terms: str = Field(min_length=1, max_length=8000)
    signed_on: date
    performance_deadline: date | None = None
    recovered_fen: int = Field(0, ge=0, description="economic loss recovered for the parties, in fen")

    @model_validator(mode="after")
    def _dates(self) -> AgreementIn:
        if self.performance_deadline is not None and self.performance_deadline < self.signed_on:
            raise ValueError("performance_deadline is before signed_on")
        return self


class FailureIn(BaseModel):
    """Mediation failed; the parties were referred elsewhere."""

    reason: str = Field(min_length=1, max_length=4000)
    referred_to: Referral
    concluded_on: date


class CloseIn(BaseModel):
    """Close a concluded case."""

    closed_on: date


class JudicialConfirmationIn(BaseModel):
    """The parties applied to the court for judicial confirmation of the agreement."""

    applied_on: date


class SessionIn(BaseModel):
    """A mediation session."""

    held_on: date
    location: str | None = Field(None, max_length=200)
    notes: str = Field(min_length=1, max_length=8000)


class FollowUpIn(BaseModel):
    """A follow-up visit on the performance of an agreement."""

    visited_on: date
    performance: Performance
    recovered_fen: int = Field(0, ge=0, description="further amount recovered since the last record, in fen")
    notes: str | None = Field(None, max_length=4000)


# --- tables -----------------------------------------------------------------------------------


class CaseCounter(LegalModel, table=True):
    """The last case number given per town and year (updated in the registering transaction)."""

    __tablename__ = "case_counters"

    town_id: str = Field(primary_key=True, max_length=ID)
    year: int = Field(primary_key=True)
    last_seq: int = 0


class Case(LegalModel, table=True):
    """A stored mediation case."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("town_id", "year", "seq", name="uq_cases_town_year_seq"), town_index("cases", "registered_on"),
    )

    id: str = Field(primary_key=True, max_length=ID)
    number: str = Field(max_length=60, unique=True)
    town_id: str = Field(max_length=ID)
    year: int
    seq: int
    unit_id: str = Field(max_length=ID, index=True)
    # `town_id` is the town that numbered the case, for good; this one follows the unit's moves.
    town_unit_id: str | None = Field(None, max_length=ID)  # the town its unit lies in now: legal_svc.towns
    category: CaseCategory = Field(sa_column=enum_column(CaseCategory, length=16))
    facts: str = Field(max_length=8000)
    points_in_dispute: str = Field(max_length=4000)
    amount_in_dispute_fen: int = Field(0, sa_column=fen_column())
    status: CaseStatus = Field(sa_column=enum_column(CaseStatus, length=16, index=True))
    risk_level: RiskLevel = Field(sa_column=enum_column(RiskLevel, length=16))
    risk_note: str | None = Field(None, max_length=1000)
    reported_on: date
    registered_on: date = Field(index=True)
    accepted_on: date | None = None
    mediation_started_on: date | None = None
    concluded_on: date | None = Field(None, index=True)
    closed_on: date | None = None
    agreement_terms: str | None = Field(None, max_length=8000)
    agreement_signed_on: date | None = None
    performance_deadline: date | None = None
    judicial_confirmation_deadline: date | None = None
    judicial_confirmation_applied_on: date | None = None
    failure_reason: str | None = Field(None, max_length=4000)
    referred_to: Referral | None = Field(None, sa_column=enum_column(Referral, length=16, nullable=True))
    recovered_fen: int = Field(0, sa_column=fen_column())
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class CaseParty(LegalModel, table=True):
    """A party to a case (personal data)."""

    __tablename__ = "case_parties"

    id: str = Field(primary_key=True, max_length=ID)
    case_id: str = Field(foreign_key="cases.id", max_length=ID, index=True)
    position: int
    role: PartyRole = Field(sa_column=enum_column(PartyRole, length=16))
    name: str = Field(max_length=50)
    id_number: str | None = Field(None, max_length=18)
    phone: str | None = Field(None, max_length=20)
    address: str | None = Field(None, max_length=200)


class CaseMediator(LegalModel, table=True):
    """A mediator taking part in a case."""

    __tablename__ = "case_mediators"

    id: str = Field(primary_key=True, max_length=ID)
    case_id: str = Field(foreign_key="cases.id", max_length=ID, index=True)
    name: str = Field(max_length=50)
    affiliation: Affiliation = Field(sa_column=enum_column(Affiliation, length=24, index=True))
    role: MediatorRole = Field(sa_column=enum_column(MediatorRole, length=8))
    organisation: str | None = Field(None, max_length=100)
    person_id: str | None = Field(None, max_length=26)
    adviser_id: str | None = Field(None, max_length=26)
    added_at: datetime = Field(sa_column=utc_column())


class CaseUnit(LegalModel, table=True):
    """Another unit joining the mediation of a case."""

    __tablename__ = "case_units"

    case_id: str = Field(foreign_key="cases.id", primary_key=True, max_length=ID)
    unit_id: str = Field(primary_key=True, max_length=ID)


class CaseSession(LegalModel, table=True):
    """A mediation session with its notes."""

    __tablename__ = "case_sessions"

    id: str = Field(primary_key=True, max_length=ID)
    case_id: str = Field(foreign_key="cases.id", max_length=ID, index=True)
    held_on: date
    location: str | None = Field(None, max_length=200)
    notes: str = Field(max_length=8000)
    recorded_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=utc_column())


class CaseFollowUp(LegalModel, table=True):
    """A follow-up visit on an agreement's performance."""

    __tablename__ = "case_follow_ups"

    id: str = Field(primary_key=True, max_length=ID)
    case_id: str = Field(foreign_key="cases.id", max_length=ID, index=True)
    visited_on: date
    performance: Performance = Field(sa_column=enum_column(Performance, length=16))
    recovered_fen: int = Field(0, sa_column=fen_column())
    notes: str | None = Field(None, max_length=4000)
    recorded_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=utc_column())


class CaseRead(LegalModel, table=True):
    """One read of a full case: who, when, which case, from which request (the audit log)."""

    __tablename__ = "case_reads"

    id: str = Field(primary_key=True, max_length=ID)
    case_id: str = Field(foreign_key="cases.id", max_length=ID, index=True)
    case_number: str = Field(max_length=60)
    reader: str = Field(max_length=100, index=True)
    reader_name: str = Field(max_length=100)
    reader_role: str = Field(max_length=32)
    request_id: str | None = Field(None, max_length=64)
    read_at: datetime = Field(sa_column=utc_column(index=True))


# --- responses --------------------------------------------------------------------------------


class PartyMasked(BaseModel):
    """A party with personal data masked."""

    role: PartyRole
    name: str


class PartyPublic(PartyMasked):
    """A party in full (only in the audited case read)."""

    id_number: str | None
    phone: str | None
    address: str | None


class MediatorPublic(BaseModel):
    """A mediator; `party_member` comes from the member roster grid-svc publishes."""

    id: str
    name: str
    affiliation: Affiliation
    role: MediatorRole
    organisation: str | None
    person_id: str | None
    adviser_id: str | None
    party_member: bool


class SessionPublic(BaseModel):
    """A mediation session."""

    id: str
    held_on: date
    location: str | None
    notes: str
    created_at: datetime


class FollowUpPublic(BaseModel):
    """A follow-up visit."""

    id: str
    visited_on: date
    performance: Performance
    recovered_fen: int
    notes: str | None
    created_at: datetime


class CaseSummary(BaseModel):
    """A case without personal data or case details: what lists, exports and other roles see."""

    view: Literal["summary", "full"] = "summary"
    id: str
    number: str
    unit_id: str
    category: CaseCategory
    status: CaseStatus
    outcome: Literal["agreed", "failed"] | None
    risk_level: RiskLevel
    joint: bool
    reported_on: date
    registered_on: date
    concluded_on: date | None
    closed_on: date | None
    amount_in_dispute_fen: int
    recovered_fen: int
    judicial_confirmation_deadline: date | None
    judicial_confirmation_applied_on: date | None
    parties: list[PartyMasked]
    mediator_affiliations: list[Affiliation]


class CaseFull(CaseSummary):
    """The whole case file (returned only by the audited read)."""

    view: Literal["summary", "full"] = "full"
    facts: str
    points_in_dispute: str
    risk_note: str | None
    accepted_on: date | None
    mediation_started_on: date | None
    agreement_terms: str | None
    agreement_signed_on: date | None
    performance_deadline: date | None
    failure_reason: str | None
    referred_to: Referral | None
    cooperating_unit_ids: list[str]
    parties: list[PartyPublic]  # type: ignore[assignment]  # whole, not masked
    mediators: list[MediatorPublic]
    sessions: list[SessionPublic]
    follow_ups: list[FollowUpPublic]
    created_at: datetime
    updated_at: datetime


class CaseReadPublic(BaseModel):
    """An audit log entry."""

    id: str
    case_id: str
    case_number: str
    reader: str
    reader_name: str
    reader_role: str
    request_id: str | None
    read_at: datetime
