"""legal-svc's consumer routing table: event type → handler, one screen."""

from legal_svc.db import grid
from legal_svc.roster.handlers import on_member_joined, on_member_left
from shared.events import GRID_TOPIC
from shared.events.grid import MemberJoined, MemberLeft
from shared.service import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="legal-svc.grid",
        topics=[GRID_TOPIC],
        handlers={
            **grid.handlers,
            MemberJoined: on_member_joined,
            MemberLeft: on_member_left,
        },
    ),
]
