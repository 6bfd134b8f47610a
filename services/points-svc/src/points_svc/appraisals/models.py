"""The appraisal family: campaigns with weighted criteria, candidates, scores, results and objections."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import JSON, Field

from points_svc.db import PointsModel
from shared.columns import UTCDateTime, enum_column


class AppraisalKind(StrEnum):
    """What is appraised: households (星级文明户) or villages (文明村)."""

    CIVILISED_HOUSEHOLD = "civilised_household"
    CIVILISED_VILLAGE = "civilised_village"


class AppraisalStatus(StrEnum):
    """Draft (candidates and scores), published (on notice, objections), closed."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class CandidateStatus(StrEnum):
    """Where a candidate stands."""

    NOMINATED = "nominated"
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"
    WITHDRAWN = "withdrawn"  # an upheld objection took the award away during the notice
    REVOKED = "revoked"  # the title was revoked later, with a reason; a cool-off applies


class ObjectionStatus(StrEnum):
    """Where an objection to a result stands."""

    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Criterion(BaseModel):
    """One criterion: scored 0–100, weighted in percent."""

    code: str = PydanticField(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = PydanticField(min_length=1, max_length=100)
    weight: int = PydanticField(ge=1, le=100, description="percent; the weights of a campaign add up to 100")


class Appraisal(PointsModel, table=True):
    """An appraisal campaign of a town for a year."""

    __tablename__ = "appraisals"
    __table_args__ = (Index("ix_appraisals_town_path", "town_path", postgresql_ops={"town_path": "text_pattern_ops"}),)

    id: str = Field(primary_key=True, max_length=26)
    town_unit_id: str = Field(max_length=64, index=True)
    town_path: str = Field(max_length=400)
    kind: AppraisalKind = Field(sa_column=enum_column(AppraisalKind, length=32))
    name: str = Field(max_length=100)
    year: int
    criteria: list[dict] = Field(sa_column=Column(JSON, nullable=False))
    pass_score: int
    objection_working_days: int
    status: AppraisalStatus = Field(sa_column=enum_column(AppraisalStatus, length=16))
    objection_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AppraisalCandidate(PointsModel, table=True):
    """A household or village put up in a campaign, with its scores and result."""

    __tablename__ = "appraisal_candidates"
    __table_args__ = (
        UniqueConstraint("appraisal_id", "subject_id", name="uq_candidates_appraisal_subject"),
        Index("ix_candidates_subject", "subject_id", "status"),
    )

    id: str = Field(primary_key=True, max_length=26)
    appraisal_id: str = Field(foreign_key="appraisals.id", max_length=26)
    kind: AppraisalKind = Field(sa_column=enum_column(AppraisalKind, length=32))
    subject_id: str = Field(max_length=64, description="the household id, or the village's unit id")
    subject_name: str = Field(max_length=100)
    subject_path: str = Field(max_length=400)
    scores: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    weighted_x100: int | None = Field(default=None, description="weighted score × 100 (exact; 8650 is 86.50)")
    status: CandidateStatus = Field(sa_column=enum_column(CandidateStatus, length=16))
    revoked_reason: str | None = Field(default=None, max_length=500)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    added_by: str = Field(max_length=100)
    added_at: datetime = Field(sa_type=UTCDateTime)


class AppraisalObjection(PointsModel, table=True):
    """An objection to a published result."""

    __tablename__ = "appraisal_objections"

    id: str = Field(primary_key=True, max_length=26)
    appraisal_id: str = Field(foreign_key="appraisals.id", max_length=26, index=True)
    candidate_id: str = Field(foreign_key="appraisal_candidates.id", max_length=26)
    reason: str = Field(max_length=1000)
    raised_by: str = Field(max_length=100)
    raised_at: datetime = Field(sa_type=UTCDateTime)
    status: ObjectionStatus = Field(sa_column=enum_column(ObjectionStatus, length=16))
    resolution: str | None = Field(default=None, max_length=1000)
    resolved_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AppraisalCreate(BaseModel):
    """Start a campaign in a town."""

    town_unit_id: str = PydanticField(max_length=64)
    kind: AppraisalKind
    name: str = PydanticField(min_length=1, max_length=100, description="e.g. 2026年度十星级文明户评选")
    year: int = PydanticField(ge=2000, le=2100)
    criteria: list[Criterion] = PydanticField(min_length=1, max_length=20)
    pass_score: int = PydanticField(ge=0, le=100, description="weighted score a candidate needs to be awarded")
    objection_working_days: int | None = PydanticField(None, ge=0, le=30)

    @field_validator("criteria")
    @classmethod
    def _weights(cls, value: list[Criterion]) -> list[Criterion]:
        if sum(c.weight for c in value) != 100:
            raise ValueError("the criteria's weights must add up to 100")
        if len({c.code for c in value}) != len(value):
            raise ValueError("criterion codes must be unique")
        return value


class CandidateAdd(BaseModel):
    """Put up a household (household campaigns) or a village (village campaigns)."""

    subject_id: str = PydanticField(max_length=64)


class CandidateScores(BaseModel):
    """A score of 0–100 for every criterion, by code."""

    scores: dict[str, int]

    @field_validator("scores")
    @classmethod
    def _range(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 0 <= v <= 100 for v in value.values()):
            raise ValueError("scores are 0–100")
        return value


class CandidateRevoke(BaseModel):
    """Revoke an awarded title."""

    reason: str = PydanticField(min_length=1, max_length=500)


class AppraisalObjectionCreate(BaseModel):
    """Object to a published result."""

    candidate_id: str = PydanticField(max_length=26)
    reason: str = PydanticField(min_length=1, max_length=1000)


class AppraisalObjectionResolve(BaseModel):
    """Upheld withdraws the candidate's award; rejected keeps it."""

    decision: ObjectionStatus
    reason: str = PydanticField(min_length=1, max_length=1000)


class CandidatePublic(BaseModel):
    """A candidate as the API returns it."""

    id: str
    appraisal_id: str
    kind: AppraisalKind
    subject_id: str
    subject_name: str
    scores: dict[str, int]
    weighted_x100: int | None
    status: CandidateStatus
    revoked_reason: str | None
    revoked_at: datetime | None
    added_at: datetime


class AppraisalObjectionPublic(BaseModel):
    """An objection to a result as the API returns it."""

    id: str
    appraisal_id: str
    candidate_id: str
    reason: str
    raised_by: str
    raised_at: datetime
    status: ObjectionStatus
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None


class AppraisalPublic(BaseModel):
    """A campaign without its candidates."""

    id: str
    town_unit_id: str
    kind: AppraisalKind
    name: str
    year: int
    criteria: list[Criterion]
    pass_score: int
    objection_working_days: int
    status: AppraisalStatus
    objection_deadline: datetime | None
    published_at: datetime | None
    closed_at: datetime | None
    created_by: str
    created_at: datetime


class AppraisalDetail(AppraisalPublic):
    """A campaign with its candidates (best first once scored) and objections."""

    candidates: list[CandidatePublic]
    objections: list[AppraisalObjectionPublic]


class PublicResultLine(BaseModel):
    """One line of a published result: name, weighted score, outcome."""

    rank: int
    name: str
    score: str = PydanticField(description="weighted score with two decimals")
    status: CandidateStatus


class PublicAppraisalResult(BaseModel):
    """A campaign's results for the public notice page (names only)."""

    name: str
    kind: AppraisalKind
    year: int
    status: AppraisalStatus
    objection_deadline: datetime | None
    lines: list[PublicResultLine]
