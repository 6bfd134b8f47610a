"""dispatch-svc's consumer routing table: event type → handler, one screen."""

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.activities.models import Activity
from dispatch_svc.db import grid
from dispatch_svc.lectures.models import Lecture
from dispatch_svc.orders.models import Order
from dispatch_svc.plans.models import Plan
from dispatch_svc.providers.models import Provider
from dispatch_svc.roster.handlers import HANDLERS as ROSTER_HANDLERS
from dispatch_svc.roster.models import Household, Liaison
from shared.events import GRID_TOPIC
from shared.events.envelope import Envelope
from shared.events.grid import UnitMoved
from shared.scope import rebase_subtree
from shared.service import ConsumerSpec

# Every copy of a unit's path kept here beside the grid tree copy: scope and subtree lists read them.
PATH_COPIES = (
    Order.__table__.c.unit_path, Plan.__table__.c.unit_path, Activity.__table__.c.unit_path, Lecture.__table__.c.unit_path,
    Provider.__table__.c.area_path, Household.__table__.c.unit_path, Liaison.__table__.c.unit_path,
)


async def on_unit_moved(session: AsyncSession, event: UnitMoved, envelope: Envelope) -> None:
    """The grid tree copy follows a moved subtree, and so do the orders, plans, activities, lectures, providers'
    areas and roster rows under it: a village moved to another town is that town's to serve, and to see."""
    await grid.on_unit_moved(session, event, envelope)
    await rebase_subtree(session, event.old_path, event.path, *PATH_COPIES)


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="dispatch-svc.grid",
        topics=[GRID_TOPIC],
        handlers={
            # UnitCreated, UnitRenamed, UnitRetired → the grid tree copy
            **grid.handlers,
            UnitMoved: on_unit_moved,
            # HouseholdRegistered/Moved/Updated/Dissolved, PersonJoined/Left, MemberJoined/Left, LiaisonLinked/Unlinked → the roster
            **ROSTER_HANDLERS,
        },
    ),
]
