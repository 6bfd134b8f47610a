"""grid-svc consumes no events: it is the source of the grid tree."""

from shared.service import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = []
