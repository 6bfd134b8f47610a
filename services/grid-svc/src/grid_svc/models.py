"""Every table of grid-svc, imported in one place for migrations and tests."""

from grid_svc.assignments.models import Assignment
from grid_svc.households.models import Household, HouseholdPlacement, HouseholdTally
from grid_svc.liaisons.models import Liaison
from grid_svc.party.models import PartyMember, PartyOrg
from grid_svc.people.models import HouseholdMember, Person
from grid_svc.rules.models import RuleRevision
from grid_svc.units.models import Unit, UnitPlacement, UnitTally

__all__ = [
    "Assignment",
    "Household",
    "HouseholdMember",
    "HouseholdPlacement",
    "HouseholdTally",
    "Liaison",
    "PartyMember",
    "PartyOrg",
    "Person",
    "RuleRevision",
    "Unit",
    "UnitPlacement",
    "UnitTally",
]
