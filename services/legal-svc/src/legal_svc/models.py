"""Every table of legal-svc, imported in one place for migrations and tests."""

from legal_svc.advisers.models import Adviser, AdviserAssignment, Consultation, LegalAffair
from legal_svc.cases.models import CaseCounter, Case, CaseFollowUp, CaseMediator, CaseParty, CaseRead, CaseSession, CaseUnit
from legal_svc.roster.models import PartyMembership

__all__ = [
    "Adviser",
    "AdviserAssignment",
    "Case",
    "CaseCounter",
    "CaseFollowUp",
    "CaseMediator",
    "CaseParty",
    "CaseRead",
    "CaseSession",
    "CaseUnit",
    "Consultation",
    "LegalAffair",
    "PartyMembership",
]
