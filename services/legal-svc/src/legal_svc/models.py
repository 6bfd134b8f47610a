"""Every table of legal-svc, imported in one place for migrations and tests."""

from legal_svc.advisers.models import Adviser, AdviserAssignment, Consultation, LegalAffair
from legal_svc.cases.models import Case, CaseCounter, CaseFollowUp, CaseMediator, CaseParty, CaseRead, CaseSession, CaseUnit
from legal_svc.enforcement.models import Campaign, CampaignUnit, Inspection, Officer
from legal_svc.patrols.models import AuxiliaryOfficer, PatrolIncident, PatrolLog, PatrolTeam, PatrolTeamVillage
from legal_svc.publicity.models import PublicityEvent, PublicityTeam, PublicityTeamMember
from legal_svc.roster.models import PartyMembership

__all__ = [
    "Adviser",
    "AdviserAssignment",
    "AuxiliaryOfficer",
    "Campaign",
    "CampaignUnit",
    "Case",
    "CaseCounter",
    "CaseFollowUp",
    "CaseMediator",
    "CaseParty",
    "CaseRead",
    "CaseSession",
    "CaseUnit",
    "Consultation",
    "Inspection",
    "LegalAffair",
    "Officer",
    "PartyMembership",
    "PatrolIncident",
    "PatrolLog",
    "PatrolTeam",
    "PatrolTeamVillage",
    "PublicityEvent",
    "PublicityTeam",
    "PublicityTeamMember",
]
