"""Where to look once the demo is loaded: the lines `make run` and `python -m demo load` print."""

from __future__ import annotations

from demo import accounts
from demo.load import LoadResult


def tour_lines(result: LoadResult, gateway: str) -> list[str]:
    """URLs of the demo town's dashboard and public pages, and the accounts to log in with."""
    town = result.towns[0]
    lines = [
        f"demo town    {town.name} ({town.unit_id})",
        f"dashboard    {gateway}/api/v1/dashboards/towns/{town.unit_id}?from={result.since.isoformat()}"
        "  (bearer token: log in on /docs with Authorize)",
    ]
    if town.first_village_id:
        village = town.first_village_id
        closed, open_ = result.months[-2], result.months[-1]
        lines += [
            f"notices      {gateway}/notices/points/{village}/{closed}  (closed)",
            f"             {gateway}/notices/points/{village}/{open_}  (open for objections)",
            f"             {gateway}/notices/villages/{village}/rules  (village rules)",
        ]
    lines.append("accounts     " + "\n             ".join(accounts.banner_lines(town_code="yuwang")))
    return lines
