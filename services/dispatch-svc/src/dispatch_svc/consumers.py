"""dispatch-svc's consumer routing table: event type → handler, one screen."""

from dispatch_svc.db import grid
from shared.events import GRID_TOPIC
from shared.service import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(name="dispatch-svc.grid", topics=[GRID_TOPIC], handlers={**grid.handlers}),
]
