"""points-svc's consumer routing table: event type → handler, one screen."""

from points_svc.db import grid
from shared.events import GRID_TOPIC
from shared.service import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(name="points-svc.grid", topics=[GRID_TOPIC], handlers={**grid.handlers}),
]
