"""A member's points at a glance: the roster's member, their balance, newest entries and latest rating, read at once.

Each part is what its own endpoint answers (the same service functions and scope rules). Read together, they
answer in one call what the gateway's member profile used to ask in three or four, each far dearer than its query.
"""

from __future__ import annotations

from points_svc.ledger import balances
from points_svc.ledger.service import list_entries
from points_svc.members import service
from points_svc.members.models import MemberPublic, MemberSummary
from points_svc.ratings.models import RatingPublic
from points_svc.ratings.service import list_ratings_query, ratings_page
from shared.database import Database
from shared.identity import Identity
from shared.pagination import PageParams

RECENT_ENTRIES = PageParams(page=1, per_page=10)
LATEST_RATING = PageParams(page=1, per_page=1)


async def member_summary(db: Database, *, identity: Identity, member_id: str) -> MemberSummary:
    """The member with their balance, newest 10 entries and latest rating in their branch; 404 when the member
    is unknown or outside the caller's scope."""
    member = await service.read_member(db, identity=identity, member_id=member_id)
    # The member's row carries the caller's scope path (checked above): the lists below take it from there
    # rather than asking for it again. Unrestricted callers list everywhere, as the lists do for them.
    scope_path = None if identity.unrestricted else member.scope_path
    balance = await balances.member_balance(db, member=member, from_period=None, to_period=None)
    entries = await list_entries(db, page=RECENT_ENTRIES, subtree=scope_path, member_id=member.id)
    shape, params = list_ratings_query(subtree=scope_path, branch_unit_id=member.branch_unit_id, member_id=member.id)
    newest, _ = await ratings_page(shape).fetch(db, LATEST_RATING, params)  # newest span first: the first is the latest
    latest = newest[0] if newest else None
    return MemberSummary(
        member=MemberPublic.model_validate(member, from_attributes=True),
        balance=balance,
        entries=entries,
        rating=RatingPublic.model_validate(latest, from_attributes=True) if latest is not None else None,
    )
