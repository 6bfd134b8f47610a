"""A roster row's cells read into the registry's inputs, the same way by both import paths.

The bulk path (`bulk.BulkRegistry`) and the use-case path (`service._Importer`) look records up
differently, so each passes its own lookups; what a row's cells mean is decided here once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, NamedTuple, TypeVar

from grid_svc.people.models import PersonUpdate, Relation
from shared.problems import Problem

HouseholdT = TypeVar("HouseholdT")
UnitT = TypeVar("UnitT")


def blank(value: str | None) -> str | None:
    """The cell's text, or None for an empty cell."""
    return value if value not in (None, "") else None


class PersonRow(NamedTuple, Generic[HouseholdT, UnitT]):
    """A people row: the person's details, their relation, and where they live (a household, else a unit)."""

    fields: dict[str, Any]  # the details as given, for `PersonCreate`
    details: PersonUpdate
    relation: Relation
    household: HouseholdT | None
    unit: UnitT | None


async def read_person_row(
    cells: dict[str, str], *, household: Callable[[str], Awaitable[HouseholdT]], unit: Callable[[str], Awaitable[UnitT]]
) -> PersonRow[HouseholdT, UnitT]:
    """Read a people row: id_number is required, the details follow `PersonUpdate`'s rules, the relation
    defaults to other, and the unit is looked up only when no household is given; 422 when neither is."""
    if not blank(cells.get("id_number")):
        raise Problem(
            422, "validation_failed", "id_number is required to import people",
            errors=[{"loc": ["id_number"], "msg": "required", "type": "missing"}],
        )  # fmt: skip
    fields = {
        "name": cells.get("name"),
        "gender": blank(cells.get("gender")),
        "birth_date": blank(cells.get("birth_date")),
        "phone": blank(cells.get("phone")),
        "id_number": cells.get("id_number"),
    }
    details = PersonUpdate.model_validate(fields)
    relation = Relation(cells["relation"]) if blank(cells.get("relation")) else Relation.OTHER
    in_household = await household(cells["household_code"]) if blank(cells.get("household_code")) else None
    in_unit = await unit(cells["unit_code"]) if blank(cells.get("unit_code")) and in_household is None else None
    if in_household is None and in_unit is None:
        raise Problem(422, "validation_failed", "give household_code or unit_code")
    return PersonRow(fields, details, relation, in_household, in_unit)
