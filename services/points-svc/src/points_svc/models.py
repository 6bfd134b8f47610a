"""Every table of points-svc, imported in one place for migrations and tests."""

from points_svc.appraisals.models import Appraisal, AppraisalCandidate, AppraisalObjection
from points_svc.deeds.models import Deed
from points_svc.households.models import Household
from points_svc.ledger.models import Balance, ChainHead, Entry, EntryTally
from points_svc.members.models import Member
from points_svc.notices.models import Notice, NoticeLine, Objection
from points_svc.ratings.models import Rating, RatingScheme
from points_svc.rules.models import Rule

__all__ = [
    "Appraisal",
    "AppraisalCandidate",
    "AppraisalObjection",
    "Balance",
    "ChainHead",
    "Deed",
    "Entry",
    "EntryTally",
    "Household",
    "Member",
    "Notice",
    "NoticeLine",
    "Objection",
    "Rating",
    "RatingScheme",
    "Rule",
]
