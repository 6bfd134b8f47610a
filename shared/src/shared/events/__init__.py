"""Event contracts: one Pydantic model per event type, grouped by the producing service."""

from shared.events.base import EVENT_TYPE_PREFIX, DomainEvent, event_model_for
from shared.events.topics import DISPATCH_TOPIC, GRID_TOPIC, LEGAL_TOPIC, POINTS_TOPIC, dlq_topic

# Importing the domain modules registers every event type.
from shared.events import dispatch, grid, legal, points  # noqa: E402,F401  isort: skip

__all__ = [
    "EVENT_TYPE_PREFIX",
    "DomainEvent",
    "event_model_for",
    "GRID_TOPIC",
    "POINTS_TOPIC",
    "DISPATCH_TOPIC",
    "LEGAL_TOPIC",
    "dlq_topic",
]
