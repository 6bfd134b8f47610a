"""dispatch-svc's consumer routing table: event type → handler, one screen."""

from dispatch_svc.db import grid
from dispatch_svc.roster.handlers import HANDLERS as ROSTER_HANDLERS
from shared.events import GRID_TOPIC
from shared.service import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="dispatch-svc.grid",
        topics=[GRID_TOPIC],
        handlers={
            # UnitCreated, UnitRenamed, UnitMoved, UnitRetired → the grid tree copy
            **grid.handlers,
            # HouseholdRegistered/Moved/Updated/Dissolved, PersonJoined/Left, MemberJoined/Left, LiaisonLinked/Unlinked → the roster
            **ROSTER_HANDLERS,
        },
    ),
]
