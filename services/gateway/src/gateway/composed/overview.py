"""The unit overview: the unit, its team and compliance, orders, cases and top members."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.composed.sections import Composer, DegradedSection, Fetch, items_of, page_of, pages_as
from shared.local_time import current_period

CORE_ROLES = ("grid_leader", "grid_worker", "grid_assistant")
CASES_IN_PROGRESS = ["registered", "accepted", "mediating"]
LISTED = 10
# What grid-svc's unit summary fills: all of it is missing when that one call fails.
GRID_SECTIONS = ("unit", "units_below", "team", "compliance", "households")
# What dispatch-svc's open orders fill (it owns which statuses are open): both are missing when that call fails.
ORDER_SECTIONS = ("open_orders", "overdue_orders")


class TeamCompliance(BaseModel):
    """The unit's own 1+1+1+N team: the three core roles and everyone else."""

    grid_leader: int
    grid_worker: int
    grid_assistant: int
    others: int = Field(description="the N: party members, committee members, volunteers, cadres")
    complete: bool = Field(description="each core role filled at least once")
    missing_roles: list[str]


class UnitOverview(BaseModel):
    """One unit at a glance, composed from all four services."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "unit": {"id": "01JD…", "name": "青龙村", "level": "village", "path": "/…/"},
                    "period": "2026-11",
                    "units_below": {"grid": 4, "small_grid": 12, "micro_grid": 40},
                    "team": [{"name": "李网格", "role": "grid_worker"}],
                    "team_compliance": {"grid_leader": 1, "grid_worker": 1, "grid_assistant": 0, "others": 6,
                                        "complete": False, "missing_roles": ["grid_assistant"]},
                    "compliance": {"liaison_coverage": 0.92},
                    "households": 412,
                    "open_orders": {"total": 3, "items": []},
                    "overdue_orders": {"total": 1, "items": []},
                    "cases_in_progress": {"total": 2, "items": []},
                    "top_members": [{"member_id": "01JD…", "name": "王党员", "points": 18}],
                    "degraded": [{"section": "cases_in_progress", "service": "legal", "reason": "unavailable"}],
                }
            ]
        }
    )

    unit: dict[str, Any] | None
    period: str = Field(description="the month of `top_members`, YYYY-MM (Asia/Shanghai)")
    units_below: dict[str, Any] | None = Field(description="active units of each level under the unit")
    team: list[dict[str, Any]] | None = Field(description="role assignments on the unit itself, in force today")
    team_compliance: TeamCompliance | None
    compliance: dict[str, Any] | None = Field(description="grid-svc's compliance summary of the subtree")
    households: int | None = Field(description="households registered under the unit today (the compliance summary's count)")
    open_orders: dict[str, Any] | None = Field(description="total and the newest few")
    overdue_orders: dict[str, Any] | None
    cases_in_progress: dict[str, Any] | None = Field(description="mediation cases not yet concluded (parties masked)")
    top_members: list[dict[str, Any]] | None = Field(description="party members by points this month, highest first")
    degraded: list[DegradedSection] = Field(description="sections missing from this answer, and why")


def team_compliance(team: list[dict[str, Any]]) -> TeamCompliance:
    """Count the core roles and the N in a unit's team."""
    counts = {role: sum(1 for a in team if a.get("role") == role) for role in CORE_ROLES}
    missing = [role for role, n in counts.items() if n == 0]
    return TeamCompliance(**counts, others=len(team) - sum(counts.values()), complete=not missing, missing_roles=missing)


async def unit_overview(composer: Composer, unit_id: str) -> UnitOverview:
    """Fetch every section in one concurrent round and assemble the overview.

    grid-svc answers the unit, its counts, team and compliance in one summary; the households are
    the compliance count. dispatch-svc answers the open and the overdue orders in one call; cases and
    members come from the other two services.
    """
    period = current_period()
    sections = await composer.run(
        [
            Fetch("unit", "grid", "/api/v1/grid/reports/unit-summary", {"under": unit_id}, subject=True, covers=GRID_SECTIONS),
            Fetch("orders", "dispatch", "/api/v1/dispatch/orders/open", {"under": unit_id, "per_page": LISTED},
                  pages_as(open_orders="open", overdue_orders="overdue"), covers=ORDER_SECTIONS),
            # One page over every status in progress, newest first as legal-svc orders its cases.
            Fetch("cases_in_progress", "legal", "/api/v1/legal/cases",
                  {"under": unit_id, "status": CASES_IN_PROGRESS, "per_page": LISTED}, page_of),
            Fetch("top_members", "points", "/api/v1/points/balances", {"under": unit_id, "period": period, "per_page": 5}, items_of),
        ]
    )
    registry = sections.pop("unit") or {}
    orders = sections.pop("orders") or dict.fromkeys(ORDER_SECTIONS)
    team = registry.get("team")
    compliance = registry.get("compliance")
    return UnitOverview(
        **sections,
        **orders,
        unit=registry.get("unit"),
        units_below=registry.get("units_below"),
        team=team,
        compliance=compliance,
        households=compliance["households"] if compliance is not None else None,
        period=period,
        team_compliance=team_compliance(team) if team is not None else None,
        degraded=composer.degraded,
    )
