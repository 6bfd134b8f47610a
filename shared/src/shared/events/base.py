"""The base class of every domain event and the registry of wire types."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

EVENT_TYPE_PREFIX = "org.grassroots"

_REGISTRY: dict[str, type[DomainEvent]] = {}


class DomainEvent(BaseModel):
    """Something that happened, named in the past tense; the data of one CloudEvent.

    Subclasses set `event_type` (reverse-DNS, versioned), `topic` (the producer's topic)
    and `subject_field` (the aggregate id: the Kafka key and the CloudEvents subject).
    """

    # Consumers ignore fields they do not know yet, so producers can add fields safely.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]
    subject_field: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs) -> None:  # noqa: ANN003
        # Runs once pydantic has built the fields, so reserved names can be checked.
        super().__pydantic_init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is None:
            return
        if not event_type.startswith(EVENT_TYPE_PREFIX + ".") or not event_type.rsplit(".", 1)[-1].startswith("v"):
            raise TypeError(f"{cls.__name__}: event_type must be '{EVENT_TYPE_PREFIX}.<domain>.<thing>.<past>.vN'")
        reserved = {"event_type", "topic", "subject_field", "subject"} & set(cls.model_fields)
        if reserved:
            raise TypeError(f"{cls.__name__}: field names {sorted(reserved)} are reserved for the envelope")
        if event_type in _REGISTRY:
            raise TypeError(f"event type {event_type} is defined twice")
        _REGISTRY[event_type] = cls

    @property
    def subject(self) -> str:
        """The aggregate id this event is about."""
        return str(getattr(self, self.subject_field))


def event_model_for(event_type: str) -> type[DomainEvent] | None:
    """The model registered for a wire type, or None when it is unknown here."""
    return _REGISTRY.get(event_type)


def registered_event_types() -> dict[str, type[DomainEvent]]:
    """Every registered wire type with its model (for documentation and tests)."""
    return dict(_REGISTRY)
