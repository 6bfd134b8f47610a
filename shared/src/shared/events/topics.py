"""Kafka topics: one per producing service, keyed by aggregate id; a dead-letter topic each."""

GRID_TOPIC = "grid.events"
POINTS_TOPIC = "points.events"
DISPATCH_TOPIC = "dispatch.events"
LEGAL_TOPIC = "legal.events"

DOMAIN_TOPICS = (GRID_TOPIC, POINTS_TOPIC, DISPATCH_TOPIC, LEGAL_TOPIC)


def dlq_topic(topic: str) -> str:
    """The dead-letter topic for messages of `topic` that could not be processed."""
    return f"{topic}.dlq"


def all_topics() -> list[str]:
    """Every topic the platform uses, dead-letter topics included (created explicitly)."""
    return [*DOMAIN_TOPICS, *(dlq_topic(t) for t in DOMAIN_TOPICS)]
