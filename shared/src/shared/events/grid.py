"""Events published by grid-svc on `grid.events` (consumed by points, dispatch and legal)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from shared.events.base import EVENT_TYPE_PREFIX, DomainEvent
from shared.events.topics import GRID_TOPIC

Level = Literal["county", "town", "village", "grid", "small_grid", "micro_grid"]
_P = f"{EVENT_TYPE_PREFIX}.grid"


class GridEvent(DomainEvent):
    """Base of grid-svc's events."""

    topic: ClassVar[str] = GRID_TOPIC


class UnitEvent(GridEvent):
    """An event about one unit of the grid tree."""

    subject_field: ClassVar[str] = "unit_id"
    unit_id: str


class UnitCreated(UnitEvent):
    """A unit was added to the tree. `path` lists ids root→self, '/'-separated."""

    event_type: ClassVar[str] = f"{_P}.unit.created.v1"
    code: str
    full_code: str
    name: str
    level: Level
    parent_id: str | None
    path: str


class UnitRenamed(UnitEvent):
    """A unit got a new name."""

    event_type: ClassVar[str] = f"{_P}.unit.renamed.v1"
    name: str


class UnitMoved(UnitEvent):
    """A unit (and its whole subtree) got a new parent; paths under `old_path` now start with `path`."""

    event_type: ClassVar[str] = f"{_P}.unit.moved.v1"
    parent_id: str
    old_path: str
    path: str
    full_code: str


class UnitRetired(UnitEvent):
    """A unit was retired (soft: history is kept)."""

    event_type: ClassVar[str] = f"{_P}.unit.retired.v1"
    retired_at: datetime


__all__ = ["Level", "UnitCreated", "UnitRenamed", "UnitMoved", "UnitRetired"]
