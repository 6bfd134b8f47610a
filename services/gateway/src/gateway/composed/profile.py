"""The member profile: a party member's roles, liaisons, points, orders, lectures and mediations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.composed.sections import Composer, DegradedSection, Fetch, items_of, page_of, pages_as

RECENT = 10  # the newest items a section shows: points' and dispatch's summaries give as many


class MemberProfile(BaseModel):
    """One party member across the four services."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member": {"id": "01JD…", "name": "王党员", "org_name": "青龙村党支部"},
                    "roles": [{"role": "party_member", "unit_name": "一网格"}],
                    "liaisons": [{"kind": "member_household", "household_id": "01JD…"}],
                    "balance": {"total": 42},
                    "rating": None,
                    "recent_entries": [{"points": 5, "category": "mediation"}],
                    "orders_served": {"total": 3, "items": []},
                    "lectures_given": {"total": 2, "items": []},
                    "mediations": None,
                    "degraded": [{"section": "rating", "service": "points", "reason": "not provided"}],
                }
            ]
        }
    )

    member: dict[str, Any] | None = Field(description="the member as grid-svc records them (points' roster when grid is down)")
    roles: list[dict[str, Any]] | None = Field(description="grid role assignments in force")
    liaisons: list[dict[str, Any]] | None = Field(description="liaison links in force (households, grids)")
    balance: dict[str, Any] | None = Field(description="points in total and per month")
    rating: dict[str, Any] | None = Field(description="the latest star rating (null when none was computed yet)")
    recent_entries: list[dict[str, Any]] | None = Field(description="the newest ledger entries")
    orders_served: dict[str, Any] | None = Field(description="service orders assigned to the member: total and newest")
    lectures_given: dict[str, Any] | None = Field(description="micro lectures given: total and newest")
    mediations: dict[str, Any] | None = Field(description="mediation cases the member took part in: total and newest")
    degraded: list[DegradedSection]


async def member_profile(composer: Composer, member_id: str) -> MemberProfile:
    """Two concurrent rounds of two calls: what is known by the member's id, then what needs their person.

    grid-svc answers the member with their roles and liaisons in one summary; points-svc answers the
    balance, newest entries and latest rating in another, with its own copy of the member, which stands
    in when grid-svc cannot answer (it names the person the second round needs). Then dispatch-svc
    answers the orders served and lectures given in one summary, and legal-svc the mediations.
    """
    first = await composer.run(
        [
            Fetch("member", "grid", "/api/v1/grid/reports/member-summary", {"member_id": member_id}, subject=True,
                  covers=("member", "roles", "liaisons")),
            Fetch("points", "points", f"/api/v1/points/members/{member_id}/summary", shape=_points_sections,
                  covers=("balance", "rating", "recent_entries")),
        ]
    )
    registry = first["member"] or {}
    points = first["points"] or {}
    member = registry.get("member")
    if member is None and points.get("member") is not None:
        # points' copy stands in for grid's: the section is there, though from the roster.
        member = points["member"]
        composer.degraded[:] = [d for d in composer.degraded if d.section != "member"]
    if member is None:
        # Neither service could say who this is (so points gave nothing either): nothing else can be asked.
        return MemberProfile(
            member=None, roles=None, liaisons=None, balance=None, rating=None, recent_entries=None,
            orders_served=None, lectures_given=None, mediations=None, degraded=composer.degraded,
        )
    person_id = member["person_id"]
    rest = await composer.run(
        [
            Fetch("work", "dispatch", f"/api/v1/dispatch/people/{person_id}/summary",
                  shape=pages_as(orders_served="orders", lectures_given="lectures"), covers=("orders_served", "lectures_given")),
            Fetch("mediations", "legal", "/api/v1/legal/cases", {"mediator_person_id": person_id, "per_page": RECENT}, page_of),
        ]
    )
    work = rest["work"] or {}
    return MemberProfile(
        member=member, roles=registry.get("roles"), liaisons=registry.get("liaisons"), balance=points.get("balance"),
        rating=points.get("rating"), recent_entries=points.get("recent_entries"), orders_served=work.get("orders_served"),
        lectures_given=work.get("lectures_given"), mediations=rest["mediations"], degraded=composer.degraded,
    )


def _points_sections(summary: dict[str, Any]) -> dict[str, Any]:
    # The member summary's parts, by the profile's names: its entries are a page of the newest 10.
    return {"member": summary["member"], "balance": summary["balance"], "rating": summary["rating"],
            "recent_entries": items_of(summary["entries"])}
