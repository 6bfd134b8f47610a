"""points-svc's consumer routing table: event type → handler, one screen."""

from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.db import grid
from points_svc.deeds import service as deeds
from points_svc.households import service as households
from points_svc.members import service as members
from shared.events import DISPATCH_TOPIC, GRID_TOPIC, LEGAL_TOPIC
from shared.events.dispatch import LectureHeld, OrderCompleted
from shared.events.envelope import Envelope
from shared.events.grid import (
    HouseholdDissolved,
    HouseholdMoved,
    HouseholdRegistered,
    HouseholdUpdated,
    MemberJoined,
    MemberLeft,
    UnitMoved,
)
from shared.events.legal import CaseConcluded
from shared.inbox import RunHandler
from shared.service import ConsumerSpec


async def on_member_joined(session: AsyncSession, event: MemberJoined, envelope: Envelope) -> None:
    """Roster first, then the deeds that were waiting for this person."""
    await members.on_member_joined(session, event, envelope)
    await deeds.credit_waiting(session, person_id=event.person_id)


async def on_unit_moved(session: AsyncSession, event: UnitMoved, envelope: Envelope) -> None:
    """The replica, the roster and the households follow a moved subtree."""
    await grid.on_unit_moved(session, event, envelope)
    await members.rebase_paths(session, old_path=event.old_path, new_path=event.path)
    await households.rebase_paths(session, old_path=event.old_path, new_path=event.path)


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="points-svc.grid",
        topics=[GRID_TOPIC],
        handlers={
            **grid.handlers,
            UnitMoved: on_unit_moved,
            MemberJoined: on_member_joined,
            MemberLeft: members.on_member_left,
            HouseholdRegistered: RunHandler(households.on_household_registered, households.on_households_registered),
            HouseholdMoved: households.on_household_moved,
            HouseholdUpdated: RunHandler(households.on_household_updated, households.on_households_updated),
            HouseholdDissolved: households.on_household_dissolved,
        },
    ),
    ConsumerSpec(
        name="points-svc.deeds",
        topics=[DISPATCH_TOPIC, LEGAL_TOPIC],
        handlers={
            OrderCompleted: deeds.on_order_completed,
            LectureHeld: deeds.on_lecture_held,
            CaseConcluded: deeds.on_case_concluded,
        },
    ),
]
