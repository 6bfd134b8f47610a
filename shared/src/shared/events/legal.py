"""Events published by legal-svc on `legal.events` (points credits mediation from them)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel

from shared.events.base import EVENT_TYPE_PREFIX, DomainEvent
from shared.events.topics import LEGAL_TOPIC

_P = f"{EVENT_TYPE_PREFIX}.legal"


class LegalEvent(DomainEvent):
    """Base of legal-svc's events."""

    topic: ClassVar[str] = LEGAL_TOPIC


class ConsultationRecorded(LegalEvent):
    """A legal adviser answered a consultation (who asked is personal data and not carried)."""

    event_type: ClassVar[str] = f"{_P}.consultation.recorded.v1"
    subject_field: ClassVar[str] = "consultation_id"
    consultation_id: str
    adviser_id: str
    unit_id: str
    unit_path: str
    category: str
    occurred_on: date


class LegalAffairClosed(LegalEvent):
    """A legal affair (contract review, litigation support …) was closed with an outcome."""

    event_type: ClassVar[str] = f"{_P}.legal_affair.closed.v1"
    subject_field: ClassVar[str] = "affair_id"
    affair_id: str
    adviser_id: str
    unit_id: str
    unit_path: str
    kind: str
    outcome: str
    closed_on: date


class CaseEvent(LegalEvent):
    """An event about one mediation case."""

    subject_field: ClassVar[str] = "case_id"
    case_id: str


class CaseRegistered(CaseEvent):
    """A dispute was registered as a mediation case (parties are not carried)."""

    event_type: ClassVar[str] = f"{_P}.case.registered.v1"
    number: str
    category: str
    unit_id: str
    unit_path: str
    registered_on: date


class MediatorRef(BaseModel):
    """A mediator who took part, as points-svc needs to credit party-member volunteers."""

    person_id: str | None = None
    name: str
    affiliation: str
    party_member: bool = False


class CaseConcluded(CaseEvent):
    """Mediation ended in an agreement or failed; the mediators who took part are named."""

    event_type: ClassVar[str] = f"{_P}.case.concluded.v1"
    number: str
    category: str
    unit_id: str
    unit_path: str
    outcome: Literal["agreed", "failed"]
    concluded_on: date
    recovered_fen: int = 0
    mediators: list[MediatorRef]


class CampaignLogged(LegalEvent):
    """An enforcement campaign was logged."""

    event_type: ClassVar[str] = f"{_P}.campaign.logged.v1"
    subject_field: ClassVar[str] = "campaign_id"
    campaign_id: str
    theme: str
    unit_ids: list[str]
    starts_on: date
    ends_on: date | None = None


class PatrolLogged(LegalEvent):
    """A security patrol was logged, with incidents and amounts recovered."""

    event_type: ClassVar[str] = f"{_P}.patrol.logged.v1"
    subject_field: ClassVar[str] = "patrol_id"
    patrol_id: str
    unit_id: str
    unit_path: str
    patrolled_on: date
    incidents: int = 0
    recovered_fen: int = 0
