"""The three sizes of the issue, as the demo generator's sizes.

A county has ~15 towns, ~6,000 micro grids and ~100,000 households; a prefecture ten times that,
with 10,000,000 points ledger entries. The demo town has 431 micro grids, so 15 of them make a
county's 6,465 micro grids; 15 households per micro grid make ~97,000 households. The prefecture is
150 such towns. The ledger is filled with the daily deeds of earlier months (`demo.town.ledger_history`):
1,000,000 entries for a county, 10,000,000 for a prefecture.
"""

from __future__ import annotations

from demo.town import Sizes

SIZES: dict[str, Sizes] = {
    # The report's town 禹王镇 with three households per micro grid (~1,300 households).
    "town": Sizes(towns=1, households_per_micro_grid=3),
    "county": Sizes(towns=15, households_per_micro_grid=15, ledger_entries=1_000_000),
    "prefecture": Sizes(towns=150, households_per_micro_grid=15, ledger_entries=10_000_000),
}


def describe(sizes: Sizes, towns: int | None = None) -> dict[str, int]:
    """Unit, household and ledger counts a size produces (for the report); of its first `towns` only, when a load
    stopped early (each town gets its share of the ledger, the first ones one entry more while the rest lasts)."""
    towns = sizes.towns if towns is None else towns
    micro = sizes.micro_grids * towns
    counts = {
        "towns": towns,
        "villages": sizes.villages * towns,
        "micro_grids": micro,
        "households": micro * sizes.households_per_micro_grid,
    }
    if sizes.ledger_entries:
        share, extra = divmod(sizes.ledger_entries, sizes.towns)
        counts["history_ledger_entries"] = share * towns + min(extra, towns)
    return counts
