"""The town dashboard: the report's figures for a town and a period, from all four services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.composed.sections import Composer, DegradedSection, Fetch, total_of
from shared.local_time import months_between

# Every figure the dashboard answers, in the order the report gives them.
FIGURES = (
    "grids", "small_grids", "micro_grids", "households", "party_members", "liaison_coverage",
    "lecture_sessions", "lecture_attendees", "activities", "orders", "orders_completed",
    "response_rate", "resolution_rate", "satisfaction_rate", "legal_consultations", "legal_affairs",
    "disputes_mediated", "adviser_recovered_yuan", "enforcement_campaigns", "publicity_teams",
    "patrol_recovered_yuan", "points_entries",
)
DISPATCH_FIGURES = (
    "lecture_sessions", "lecture_attendees", "activities", "orders", "orders_completed",
    "response_rate", "resolution_rate", "satisfaction_rate",
)
LEGAL_FIGURES = (
    "legal_consultations", "legal_affairs", "disputes_mediated", "adviser_recovered_yuan",
    "enforcement_campaigns", "publicity_teams", "patrol_recovered_yuan",
)


class TownDashboard(BaseModel):
    """The figures of a town over a period (dates inclusive, Asia/Shanghai)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "unit": {"id": "01JD…", "name": "禹王镇", "level": "town"},
                    "from": "2026-01-01",
                    "to": "2026-11-30",
                    "figures": {"grids": 41, "small_grids": 139, "micro_grids": 431, "lecture_sessions": 32,
                                "legal_consultations": 70, "adviser_recovered_yuan": 60000.0, "satisfaction_rate": 0.97},
                    "degraded": [{"section": "satisfaction_rate", "service": "dispatch", "reason": "timed out"}],
                }
            ]
        },
        populate_by_name=True,
    )

    unit: dict[str, Any] | None
    from_: date = Field(alias="from")
    to: date
    figures: dict[str, float | int | None] = Field(description="every figure by name; null where its service did not answer")
    degraded: list[DegradedSection] = Field(description="figures missing from this answer, and why")


def _yuan(fen: Any) -> float:
    return round(int(fen) / 100, 2)


def _pick(answer: dict[str, Any], name: str) -> Any:
    """A figure from a service's figures answer: by its name, or in fen for a yuan figure."""
    if name in answer:
        return answer[name]
    if name.endswith("_yuan") and f"{name[:-5]}_fen" in answer:
        return _yuan(answer[f"{name[:-5]}_fen"])
    raise KeyError(name)


async def town_dashboard(composer: Composer, unit_id: str, start: date, end: date) -> TownDashboard:
    """Fetch every source in one concurrent round and lay the figures out by name.

    grid-svc answers the unit, its counts, party members and compliance in one summary; dispatch-svc
    and legal-svc each answer their figures in one call; points-svc counts the entries of every month the
    period touches in one more.
    """
    period = {"from": start.isoformat(), "to": end.isoformat()}
    months = months_between(start, end)
    fetches = [
        # One summary: the unit, its units per level and party members today, compliance on the last day.
        Fetch("unit", "grid", "/api/v1/grid/reports/unit-summary", {"under": unit_id, "on": end.isoformat()}, subject=True),
        Fetch("dispatch_figures", "dispatch", "/api/v1/dispatch/figures", {"unit_id": unit_id, **period}),
        Fetch("legal_figures", "legal", "/api/v1/legal/figures", {"unit_id": unit_id, **period}),
        # The ledger is kept by month: the entries of every month the period touches.
        Fetch("entries", "points", "/api/v1/points/entries", {"under": unit_id, "period": months, "per_page": 1}, total_of),
    ]
    got = await composer.run(fetches)
    registry = got["unit"] or {}
    sources: dict[str, tuple[str, str, Callable[[], Any]]] = {
        "grids": ("unit", "grid", lambda: registry["units_below"]["grid"]),
        "small_grids": ("unit", "grid", lambda: registry["units_below"]["small_grid"]),
        "micro_grids": ("unit", "grid", lambda: registry["units_below"]["micro_grid"]),
        "households": ("unit", "grid", lambda: registry["compliance"]["households"]),
        "liaison_coverage": ("unit", "grid", lambda: registry["compliance"]["liaison_coverage"]),
        "party_members": ("unit", "grid", lambda: registry["party_members"]),
        **{name: ("dispatch_figures", "dispatch", lambda n=name: _pick(got["dispatch_figures"], n)) for name in DISPATCH_FIGURES},
        **{name: ("legal_figures", "legal", lambda n=name: _pick(got["legal_figures"], n)) for name in LEGAL_FIGURES},
        "points_entries": ("entries", "points", lambda: got["entries"]),
    }
    failed = {d.section: d for d in composer.degraded}
    figures: dict[str, Any] = {}
    degraded: list[DegradedSection] = [d for d in composer.degraded if d.section == "unit"]
    for name in FIGURES:
        source, service, value = sources[name]
        cause = failed.get(source) or next((d for s, d in failed.items() if s.startswith(f"{source}_")), None)
        if cause is None:
            try:
                figures[name] = value()
                continue
            except (KeyError, TypeError, ValueError):
                cause = DegradedSection(section=name, service=service, reason="not provided")
        figures[name] = None
        degraded.append(DegradedSection(section=name, service=service, reason=cause.reason))
    return TownDashboard(unit=registry.get("unit"), from_=start, to=end, figures=figures, degraded=degraded)
