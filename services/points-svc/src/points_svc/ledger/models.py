"""The entry family: one ledger line per deed or reversal, and each branch's chain head."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import JSON, Field

from points_svc.db import PointsModel
from points_svc.rules.models import Category
from shared.columns import UTCDateTime, enum_column

GENESIS_HASH = "0" * 64


class SourceKind(StrEnum):
    """Where an entry came from."""

    MANUAL = "manual"
    ORDER_COMPLETED = "order_completed"
    LECTURE_HELD = "lecture_held"
    MEDIATION_CONCLUDED = "mediation_concluded"
    REVERSAL = "reversal"
    OBJECTION = "objection"


class Entry(PointsModel, table=True):
    """One ledger line. Never updated or deleted: a correction is a reversing entry."""

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("branch_unit_id", "branch_seq", name="uq_entries_branch_seq"),
        UniqueConstraint("source_event_id", "member_id", name="uq_entries_event_member"),
        UniqueConstraint("reverses_entry_id", name="uq_entries_reverses"),
        Index("ix_entries_unit_path", "unit_path", postgresql_ops={"unit_path": "text_pattern_ops"}),
        Index("ix_entries_member_period", "member_id", "period"),
        Index("ix_entries_branch_period", "branch_unit_id", "period"),
        # A town's entries newest first, read in order: a list under a town stops after its page.
        Index("ix_entries_town_id", "town_unit_id", "id"),
    )

    id: str = Field(primary_key=True, max_length=26)
    branch_unit_id: str = Field(max_length=64)
    branch_seq: int
    unit_path: str = Field(max_length=400, description="the member's organisation unit when recorded")
    town_unit_id: str | None = Field(default=None, max_length=64)
    member_id: str = Field(max_length=64)
    person_id: str = Field(max_length=64)
    member_name: str = Field(max_length=100)
    rule_id: str = Field(max_length=26)
    rule_code: str = Field(max_length=32)
    rule_name: str = Field(max_length=100)
    category: Category = Field(
        sa_column=enum_column(Category, length=32)
    )
    points: int
    occurred_on: date
    period: str = Field(max_length=7)
    original_period: str | None = Field(default=None, max_length=7, description="set when a frozen month sent the entry to a later one")
    description: str = Field(max_length=500)
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    recorded_by: str = Field(max_length=100)
    source_kind: SourceKind = Field(
        sa_column=enum_column(SourceKind, length=32)
    )
    source_ref: str | None = Field(default=None, max_length=64)
    source_event_id: str | None = Field(default=None, max_length=64)
    reverses_entry_id: str | None = Field(default=None, sa_column=Column(String(26), ForeignKey("entries.id"), nullable=True))
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class ChainHead(PointsModel, table=True):
    """The last link of a branch's chain; locked while a writer appends, so the chain never forks."""

    __tablename__ = "chain_heads"
    __table_args__ = (Index("ix_chain_heads_path", "branch_path", postgresql_ops={"branch_path": "text_pattern_ops"}),)

    branch_unit_id: str = Field(primary_key=True, max_length=64)
    branch_path: str = Field(max_length=400)
    last_seq: int
    last_hash: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Balance(PointsModel, table=True):
    """A member's points in a month, kept with every entry (the sum of their entries, by construction)."""

    __tablename__ = "balances"
    __table_args__ = (Index("ix_balances_period", "period", "points"),)

    member_id: str = Field(primary_key=True, max_length=64)
    period: str = Field(primary_key=True, max_length=7)
    points: int
    entries: int


class EntryTally(PointsModel, table=True):
    """How many entries a unit's members have in a month, kept with every entry (by construction, their count):
    a list's total is the sum of a few tallies instead of a count of every entry it spans."""

    __tablename__ = "entry_tallies"
    __table_args__ = (
        Index("ix_entry_tallies_path", "unit_path", postgresql_ops={"unit_path": "text_pattern_ops"}),
        Index("ix_entry_tallies_town_period", "town_unit_id", "period"),
    )

    unit_path: str = Field(primary_key=True, max_length=400, description="the entries' unit_path")
    period: str = Field(primary_key=True, max_length=7)
    town_unit_id: str | None = Field(default=None, max_length=64, description="the entries' town_unit_id")
    entries: int


class EntryCreate(BaseModel):
    """Record a deed (or a deduction) for a member under one of their town's rules."""

    member_id: str = PydanticField(max_length=64)
    rule_id: str = PydanticField(max_length=26)
    occurred_on: date
    description: str = PydanticField(min_length=1, max_length=500)
    evidence: list[str] = PydanticField(default_factory=list, max_length=20, description="links to photos or documents")

    @field_validator("evidence")
    @classmethod
    def _links(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value if v.strip()]
        for link in cleaned:
            if len(link) > 500 or not link.startswith(("http://", "https://", "/")):
                raise ValueError("evidence must be http(s) links or platform paths of at most 500 characters")
        return cleaned

    @field_validator("description")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("description must not be blank")
        return value.strip()


# Entries per batch: one transaction, and one stored answer when an Idempotency-Key is given.
MAX_BATCH = 5000


class EntryBatch(BaseModel):
    """Deeds recorded together: all of them, or none when any is refused."""

    entries: list[EntryCreate] = PydanticField(min_length=1, max_length=MAX_BATCH)


class EntryBrief(BaseModel):
    """An entry recorded by a batch (the rest is what was sent): kept short, a batch's answer may be stored."""

    id: str
    branch_seq: int
    period: str


class EntryBatchResult(BaseModel):
    """What a batch recorded, in the order of its entries."""

    recorded: int
    entries: list[EntryBrief]


class EntryReverse(BaseModel):
    """Reverse an entry: the reason is kept with the reversing entry."""

    reason: str = PydanticField(min_length=1, max_length=500)


class EntryPublic(BaseModel):
    """An entry as the API returns it."""

    id: str
    branch_unit_id: str
    branch_seq: int
    unit_path: str
    town_unit_id: str | None
    member_id: str
    person_id: str
    member_name: str
    rule_id: str
    rule_code: str
    rule_name: str
    category: Category
    points: int
    occurred_on: date
    period: str
    original_period: str | None
    description: str
    evidence: list[str]
    recorded_by: str
    source_kind: SourceKind
    source_ref: str | None
    source_event_id: str | None
    reverses_entry_id: str | None
    reason: str | None
    created_at: datetime
    prev_hash: str
    hash: str


class BrokenLink(BaseModel):
    """The first entry where a branch's chain does not hold."""

    entry_id: str | None
    branch_seq: int
    reason: str


class ChainReport(BaseModel):
    """The result of re-walking one branch's chain."""

    branch_unit_id: str
    entries_checked: int
    ok: bool
    first_broken: BrokenLink | None = None


class VerifyReport(BaseModel):
    """The result of re-walking every chain in scope."""

    ok: bool
    branches: list[ChainReport]
