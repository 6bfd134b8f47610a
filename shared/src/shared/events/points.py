"""Events published by points-svc on `points.events`."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from shared.events.base import EVENT_TYPE_PREFIX, DomainEvent
from shared.events.topics import POINTS_TOPIC

_P = f"{EVENT_TYPE_PREFIX}.points"


class PointsEvent(DomainEvent):
    """Base of points-svc's events."""

    topic: ClassVar[str] = POINTS_TOPIC


class EntryEvent(PointsEvent):
    """An event about one ledger entry (one deed, or one reversal)."""

    subject_field: ClassVar[str] = "entry_id"
    entry_id: str


class EntryRecorded(EntryEvent):
    """A deed was recorded in the ledger for a party member (`points` negative for deductions)."""

    event_type: ClassVar[str] = f"{_P}.entry.recorded.v1"
    member_id: str
    person_id: str
    branch_unit_id: str
    unit_path: str
    rule_id: str
    rule_code: str
    category: str
    points: int
    occurred_on: date
    period: str
    source_kind: str
    source_ref: str | None = None
    entry_hash: str


class EntryReversed(EntryEvent):
    """A reversing entry was recorded; `entry_id` is the reversal, `reverses_entry_id` the original."""

    event_type: ClassVar[str] = f"{_P}.entry.reversed.v1"
    reverses_entry_id: str
    member_id: str
    branch_unit_id: str
    unit_path: str
    points: int
    period: str
    reason: str
    entry_hash: str


class NoticeEvent(PointsEvent):
    """An event about one monthly public notice of a party branch."""

    subject_field: ClassVar[str] = "notice_id"
    notice_id: str


class NoticeOpened(NoticeEvent):
    """A branch's month was put on public notice; objections are taken until `objection_deadline`."""

    event_type: ClassVar[str] = f"{_P}.notice.opened.v1"
    branch_unit_id: str
    unit_path: str
    period: str
    members: int
    total_points: int
    objection_deadline: datetime


class ObjectionRaised(NoticeEvent):
    """Someone objected to one entry on a notice (who objected is not carried)."""

    event_type: ClassVar[str] = f"{_P}.objection.raised.v1"
    objection_id: str
    entry_id: str
    branch_unit_id: str
    period: str


class ObjectionResolved(NoticeEvent):
    """The branch decided an objection; an upheld one names the reversing entry."""

    event_type: ClassVar[str] = f"{_P}.objection.resolved.v1"
    objection_id: str
    entry_id: str
    decision: Literal["upheld", "rejected"]
    reversal_entry_id: str | None = None


class NoticeClosed(NoticeEvent):
    """The objection window ended and the month is frozen: later corrections go to a later month."""

    event_type: ClassVar[str] = f"{_P}.notice.closed.v1"
    branch_unit_id: str
    unit_path: str
    period: str
    members: int
    total_points: int
    closed_at: datetime


class RatingComputed(PointsEvent):
    """A member's star rating for a year or quarter was computed from their points."""

    event_type: ClassVar[str] = f"{_P}.rating.computed.v1"
    subject_field: ClassVar[str] = "rating_id"
    rating_id: str
    member_id: str
    person_id: str
    town_unit_id: str
    branch_unit_id: str
    period: str
    total_points: int
    stars: int


class AppraisalResultPublished(PointsEvent):
    """An appraisal campaign's results were published on notice (awarded candidates named by id)."""

    event_type: ClassVar[str] = f"{_P}.appraisal.result_published.v1"
    subject_field: ClassVar[str] = "appraisal_id"
    appraisal_id: str
    kind: Literal["civilised_household", "civilised_village"]
    town_unit_id: str
    year: int
    awarded_subject_ids: list[str]
    candidates: int
    objection_deadline: datetime
