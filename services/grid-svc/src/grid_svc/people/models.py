"""The person family. ID numbers and phones are personal data: masked unless the caller needs them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlmodel
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Column, Index, UniqueConstraint

from grid_svc.db import GridModel
from shared.columns import UTCDateTime, enum_type
from shared.personal_data import normalise_id_number, normalise_phone


class Gender(StrEnum):
    """Gender as the household register records it."""

    MALE = "male"
    FEMALE = "female"


class Relation(StrEnum):
    """A member's relation to the head of household."""

    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    GRANDCHILD = "grandchild"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    OTHER = "other"



class PersonFields(BaseModel):
    """Validation shared by creating and updating a person."""

    @field_validator("name", check_fields=False)
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value

    @field_validator("id_number", check_fields=False)
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        return normalise_id_number(value) if value else None

    @field_validator("phone", check_fields=False)
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value else None


class PersonBase(BaseModel):
    """Fields a client sets."""

    model_config = ConfigDict(from_attributes=True)

    name: str = Field(min_length=1, max_length=50)
    gender: Gender | None = None
    birth_date: date | None = None


class PersonCreate(PersonFields, PersonBase):
    """Register a person: in a household (`household_id`), or in a unit (`unit_id`) for people without one."""

    phone: str | None = Field(None, max_length=20)
    id_number: str | None = Field(None, max_length=18)
    household_id: str | None = Field(None, max_length=26)
    relation: Relation | None = None
    unit_id: str | None = Field(None, max_length=26, description="needed when no household is given")
    joined_on: date | None = Field(None, description="day the person joined the household (default today)")


class PersonUpdate(PersonFields):
    """Correct a person's details (omitted fields stay)."""

    name: str | None = Field(None, min_length=1, max_length=50)
    gender: Gender | None = None
    birth_date: date | None = None
    phone: str | None = Field(None, max_length=20)
    id_number: str | None = Field(None, max_length=18)


class Person(GridModel, table=True):
    """A stored person. `unit_id` is where they are registered: their household's micro grid, or any unit.
    `town_unit_id` is that unit's town (None at county level), kept with `unit_id`: a town's people are one range
    of its index, in list order."""

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("id_number", name="uq_people_id_number"),
        Index("ix_people_unit", "unit_id", "name"),
        Index("ix_people_household", "household_id"),
        Index("ix_people_town_name", "town_unit_id", "name", "id"),
    )

    name: str = sqlmodel.Field(max_length=50)
    gender: Gender | None = sqlmodel.Field(default=None, sa_column=Column(enum_type(Gender, 8)))
    birth_date: date | None = None
    id: str = sqlmodel.Field(primary_key=True, max_length=26)
    unit_id: str = sqlmodel.Field(foreign_key="units.id", max_length=26)
    household_id: str | None = sqlmodel.Field(default=None, foreign_key="households.id", max_length=26)
    town_unit_id: str | None = sqlmodel.Field(default=None, max_length=26)
    phone: str | None = sqlmodel.Field(default=None, max_length=20)
    id_number: str | None = sqlmodel.Field(default=None, max_length=18)
    created_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)
    updated_at: datetime = sqlmodel.Field(sa_type=UTCDateTime)


class PersonPublic(BaseModel):
    """A person as lists return them: ID number and phone masked, birth year only."""

    id: str
    name: str
    gender: Gender | None
    birth_year: int | None
    unit_id: str
    household_id: str | None
    phone: str | None
    id_number: str | None
    created_at: datetime
    updated_at: datetime


class PersonDetail(PersonPublic):
    """One person; full ID number, phone and birth date only for callers who need them."""

    birth_date: date | None
    personal_data_masked: bool


class MembershipCreate(BaseModel):
    """Add a registered person to a household."""

    person_id: str = Field(max_length=26)
    relation: Relation = Relation.OTHER
    joined_on: date | None = None


class MembershipEnd(BaseModel):
    """A member leaves the household (moved away, deceased …)."""

    left_on: date | None = None
    reason: str | None = Field(None, max_length=200)


class HouseholdMember(GridModel, table=True):
    """A person's membership of a household during [joined_on, left_on)."""

    __tablename__ = "household_members"
    __table_args__ = (Index("ix_household_members_household", "household_id", "joined_on"), Index("ix_household_members_person", "person_id"))

    id: str = sqlmodel.Field(primary_key=True, max_length=26)
    household_id: str = sqlmodel.Field(foreign_key="households.id", max_length=26)
    person_id: str = sqlmodel.Field(foreign_key="people.id", max_length=26)
    relation: Relation = sqlmodel.Field(sa_column=Column(enum_type(Relation, 16), nullable=False))
    joined_on: date
    left_on: date | None = None
    left_reason: str | None = sqlmodel.Field(default=None, max_length=200)


class HouseholdMemberPublic(BaseModel):
    """A membership with the member's name."""

    id: str
    household_id: str
    person_id: str
    name: str
    relation: Relation
    joined_on: date
    left_on: date | None
    left_reason: str | None
