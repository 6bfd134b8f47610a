"""How many units of each level the demo town has, spread over its villages as evenly as possible."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TownShape:
    """Counts from the town's report: 41 grids, 139 small grids, 431 micro grids."""

    villages: int = 14
    grids: int = 41
    small_grids: int = 139
    micro_grids: int = 431

    def __post_init__(self) -> None:
        if not (self.villages <= self.grids <= self.small_grids <= self.micro_grids):
            raise ValueError("each level needs at least as many units as the level above")


def spread(total: int, parents: int) -> list[int]:
    """Split `total` children over `parents` as evenly as possible (earlier parents take the remainder)."""
    base, extra = divmod(total, parents)
    return [base + (1 if i < extra else 0) for i in range(parents)]
