"""The member family: the roster points-svc keeps from grid-svc's events."""

from __future__ import annotations

from datetime import date, datetime

import sqlmodel
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Index

from points_svc.db import PointsModel
from points_svc.ledger.models import EntryPublic
from points_svc.ratings.models import RatingPublic
from shared.columns import UTCDateTime
from shared.pagination import Page


class Member(PointsModel, table=True):
    """A party member as points-svc knows them: name, organisation and the branch they score in."""

    __tablename__ = "members"
    __table_args__ = (
        Index("ix_members_unit_path", "unit_path", postgresql_ops={"unit_path": "text_pattern_ops"}),
        Index("ix_members_branch", "branch_unit_id", "name"),
    )

    id: str = sqlmodel.Field(primary_key=True, max_length=64, description="grid-svc's member id")
    person_id: str = sqlmodel.Field(max_length=64, index=True)
    name: str = sqlmodel.Field(max_length=100)
    party_org_id: str = sqlmodel.Field(max_length=64)
    org_kind: str = sqlmodel.Field(max_length=16)
    org_unit_id: str = sqlmodel.Field(max_length=64)
    unit_path: str = sqlmodel.Field(max_length=400)
    branch_unit_id: str = sqlmodel.Field(max_length=64)
    town_unit_id: str | None = sqlmodel.Field(default=None, max_length=64, index=True)
    joined_on: date
    left_on: date | None = None
    updated_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)


class MemberPublic(BaseModel):
    """A member as the API returns it (names only: no personal data is kept here)."""

    id: str
    person_id: str
    name: str
    party_org_id: str
    org_kind: str
    org_unit_id: str
    unit_path: str
    branch_unit_id: str
    town_unit_id: str | None
    joined_on: date
    left_on: date | None


class PeriodBalance(BaseModel):
    """A member's points in one month."""

    period: str
    points: int
    entries: int


class MemberBalance(BaseModel):
    """A member's balance: the sum of their ledger entries, in total and per month."""

    member_id: str
    name: str
    branch_unit_id: str
    points: int
    entries: int
    periods: list[PeriodBalance]


class MemberSummary(BaseModel):
    """A member's points at a glance: what the gateway's member profile needs from points-svc, in one answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member": {"id": "01JD…", "person_id": "01JD…", "name": "王建国", "branch_unit_id": "01JD…"},
                    "balance": {"member_id": "01JD…", "name": "王建国", "branch_unit_id": "01JD…", "points": 42, "entries": 7,
                                "periods": [{"period": "2026-03", "points": 15, "entries": 3}]},
                    "entries": {"items": [{"id": "01JD…", "rule_code": "MED1", "category": "dispute_mediation", "points": 5,
                                           "period": "2026-03"}], "total": 7, "page": 1, "per_page": 10},
                    "rating": {"member_id": "01JD…", "period": "2025", "total_points": 60, "stars": 3, "rank_in_branch": 1,
                               "rank_in_town": 4},
                }
            ]
        }
    )

    member: MemberPublic = Field(description="the member as the roster keeps them (as `GET /members/{id}` answers)")
    balance: MemberBalance = Field(
        description="points in total and per month, all time (as `GET /members/{id}/balance` answers)"
    )
    entries: Page[EntryPublic] = Field(
        description="the newest 10 ledger entries in the caller's scope and their total "
        "(as `GET /entries?member_id=&per_page=10` answers)"
    )
    rating: RatingPublic | None = Field(
        description="the latest rating in the member's branch: the first of `GET /ratings?branch_unit_id=&member_id=` "
        "(null when none was computed)"
    )
