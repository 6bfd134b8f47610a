"""legal-svc's consumer routing table: event type → handler, one screen."""

from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.db import grid
from legal_svc.roster.handlers import on_member_joined, on_member_left
from legal_svc.towns import follow_move
from shared.events import GRID_TOPIC
from shared.events.envelope import Envelope
from shared.events.grid import MemberJoined, MemberLeft, UnitMoved
from shared.service import ConsumerSpec


async def on_unit_moved(session: AsyncSession, event: UnitMoved, envelope: Envelope) -> None:
    """The replica follows a moved subtree, and the town kept on its records with it."""
    await grid.on_unit_moved(session, event, envelope)
    await follow_move(session, event.path)


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="legal-svc.grid",
        topics=[GRID_TOPIC],
        handlers={
            **grid.handlers,
            UnitMoved: on_unit_moved,
            MemberJoined: on_member_joined,
            MemberLeft: on_member_left,
        },
    ),
]
