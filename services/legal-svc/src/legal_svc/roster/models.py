"""A party membership as legal-svc knows it from grid-svc."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field

from legal_svc.db import LegalModel


class PartyMembership(LegalModel, table=True):
    """One membership of a person in a party organisation (dated; `left_on` once they leave)."""

    __tablename__ = "party_memberships"

    member_id: str = Field(primary_key=True, max_length=26)
    person_id: str = Field(max_length=26, index=True)
    name: str = Field(max_length=100)
    org_unit_id: str = Field(max_length=26)
    joined_on: date
    left_on: date | None = None
