"""CloudEvents 1.0 envelope in Kafka binary content mode (ce_* headers, JSON body)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from shared.events.base import DomainEvent, event_model_for

_JSON = JSONFormat()
CONTENT_TYPE = "application/json"


class UnknownEventType(ValueError):
    """A message whose `ce_type` has no model here."""


@dataclass(frozen=True)
class Envelope:
    """The CloudEvents attributes of a received event."""

    id: str
    source: str
    type: str
    subject: str | None
    time: datetime | None


def encode(*, event_id: str, source: str, event_type: str, subject: str, time: datetime, data: dict) -> KafkaMessage:
    """Build the Kafka message (key = subject) for one event."""
    cloud_event = CloudEvent(
        attributes={
            "id": event_id,
            "source": source,
            "type": event_type,
            "subject": subject,
            "time": time,
            "datacontenttype": CONTENT_TYPE,
        },
        data=data,
    )
    return to_binary(cloud_event, _JSON, key_mapper=lambda ce: ce.get_subject())


def decode(headers: list[tuple[str, bytes]] | tuple, key: bytes | None, value: bytes) -> tuple[Envelope, DomainEvent]:
    """Parse a received message into its envelope and typed event; raise ValueError if malformed."""
    try:
        cloud_event = from_binary(KafkaMessage(headers=dict(headers), key=key, value=value), _JSON, CloudEvent)
    except Exception as exc:  # the library raises several unrelated types for bad input
        raise ValueError(f"not a CloudEvent in binary mode: {exc}") from exc
    event_type = cloud_event.get_type()
    model = event_model_for(event_type)
    if model is None:
        raise UnknownEventType(event_type)
    data = cloud_event.get_data()
    event = model.model_validate(data if isinstance(data, dict) else {})
    envelope = Envelope(
        id=cloud_event.get_id(),
        source=cloud_event.get_source(),
        type=event_type,
        subject=cloud_event.get_subject(),
        time=cloud_event.get_time(),
    )
    return envelope, event
