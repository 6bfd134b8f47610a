"""The three sizes of the issue, as the demo generator's sizes.

A county has ~15 towns, ~6,000 micro grids and ~100,000 households; a prefecture ten times that.
The demo town has 431 micro grids, so 15 of them make a county's 6,465 micro grids; 15 households
per micro grid make ~97,000 households. The prefecture is 150 such towns.
"""

from __future__ import annotations

from demo.town import Sizes

SIZES: dict[str, Sizes] = {
    # The report's town 禹王镇 with three households per micro grid (~1,300 households).
    "town": Sizes(towns=1, households_per_micro_grid=3),
    "county": Sizes(towns=15, households_per_micro_grid=15),
    "prefecture": Sizes(towns=150, households_per_micro_grid=15),
}


def describe(sizes: Sizes) -> dict[str, int]:
    """Unit and household counts a size produces (for the report)."""
    micro = sizes.micro_grids * sizes.towns
    return {
        "towns": sizes.towns,
        "villages": sizes.villages * sizes.towns,
        "micro_grids": micro,
        "households": micro * sizes.households_per_micro_grid,
    }
