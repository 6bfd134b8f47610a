"""Event contracts and the CloudEvents envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import pytest

from shared.events import GRID_TOPIC
from shared.events.base import DomainEvent, registered_event_types
from shared.events.envelope import UnknownEventType, decode, encode
from shared.events.grid import UnitCreated


def test_every_event_type_is_reverse_dns_versioned_with_a_topic():
    types = registered_event_types()
    assert UnitCreated.event_type in types
    for event_type, model in types.items():
        assert event_type.startswith("org.grassroots.")
        assert event_type.rsplit(".", 1)[-1].startswith("v")
        assert model.topic.endswith(".events")
        assert model.subject_field in model.model_fields


def test_a_badly_named_event_type_is_refused():
    with pytest.raises(TypeError):

        class Bad(DomainEvent):  # noqa: F841 - defining it is the test
            event_type: ClassVar[str] = "unit.created"
            topic: ClassVar[str] = GRID_TOPIC
            subject_field: ClassVar[str] = "x"


def test_envelope_round_trip_keeps_attributes_and_data():
    event = UnitCreated(unit_id="U1", code="YW", full_code="XX.YW", name="禹王镇", level="town", parent_id="C1", path="/C1/U1/")
    when = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    message = encode(
        event_id="E1", source="/grid-svc", event_type=event.event_type, subject=event.subject, time=when,
        data=event.model_dump(mode="json"),
    )
    assert message.key == "U1"
    assert message.headers["ce_type"] == event.event_type.encode()
    envelope, decoded = decode(list(message.headers.items()), message.key.encode(), message.value)
    assert decoded == event
    assert (envelope.id, envelope.source, envelope.subject, envelope.time) == ("E1", "/grid-svc", "U1", when)


def test_unknown_types_and_malformed_messages_are_told_apart():
    headers = [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_specversion", b"1.0"), ("content-type", b"application/json")]
    with pytest.raises(UnknownEventType):
        decode([*headers, ("ce_type", b"org.grassroots.nobody.thing.happened.v1")], b"k", b"{}")
    with pytest.raises(ValueError):
        decode([*headers, ("ce_type", UnitCreated.event_type.encode())], b"k", b'{"unit_id": "U"}')
    with pytest.raises(ValueError):
        decode([("content-type", b"application/json")], b"k", b"{}")


def test_fields_may_not_shadow_envelope_attributes():
    with pytest.raises(TypeError, match="reserved"):

        class Shadowing(DomainEvent):  # noqa: F841 - defining it is the test
            event_type: ClassVar[str] = "org.grassroots.test.thing.happened.v1"
            topic: str
            subject_field: ClassVar[str] = "topic"
