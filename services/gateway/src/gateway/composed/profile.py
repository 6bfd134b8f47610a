"""The member profile: a party member's roles, liaisons, points, orders, lectures and mediations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.composed.sections import Composer, DegradedSection, Fetch, items_of, page_of

RECENT = 10


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
    """Find the member, then fetch everything about them concurrently."""
    first = await composer.run(
        [
            Fetch("member", "grid", f"/api/v1/grid/party/members/{member_id}", subject=True),
            Fetch("points_member", "points", f"/api/v1/points/members/{member_id}"),
        ]
    )
    member = first["member"] or first["points_member"]
    if first["member"] is None and member is not None:
        # points' copy stands in for grid's: the section is there, though from the roster.
        composer.degraded[:] = [d for d in composer.degraded if d.section != "member"]
    if member is None:
        # Neither service could say who this is: nothing else can be asked.
        return MemberProfile(
            member=None, roles=None, liaisons=None, balance=None, rating=None, recent_entries=None,
            orders_served=None, lectures_given=None, mediations=None, degraded=_without_points_member(composer),
        )
    person_id = member["person_id"]
    branch_unit_id = (first["points_member"] or {}).get("branch_unit_id")
    points_missing = next((d.reason for d in composer.degraded if d.section == "points_member"), "not provided")
    rest = await composer.run(
        [
            Fetch("roles", "grid", "/api/v1/grid/assignments", {"person_id": person_id, "per_page": 200}, items_of),
            Fetch("member_liaisons", "grid", "/api/v1/grid/liaisons", {"member_id": member_id, "per_page": 200}, items_of),
            Fetch("cadre_liaisons", "grid", "/api/v1/grid/liaisons", {"person_id": person_id, "per_page": 200}, items_of),
            Fetch("balance", "points", f"/api/v1/points/members/{member_id}/balance"),
            # Ratings are listed per branch, newest span first: the member's latest is the first of theirs.
            Fetch("rating", "points", "/api/v1/points/ratings", {"branch_unit_id": branch_unit_id, "per_page": 200},
                  lambda page: next((r for r in page["items"] if r["member_id"] == member_id), None),
                  provided=branch_unit_id is not None, missing_reason=points_missing),
            Fetch("recent_entries", "points", "/api/v1/points/entries", {"member_id": member_id, "per_page": RECENT}, items_of),
            Fetch("orders_served", "dispatch", "/api/v1/dispatch/orders", {"assignee_person_id": person_id, "per_page": RECENT}, page_of),
            Fetch("lectures_given", "dispatch", "/api/v1/dispatch/lectures", {"lecturer_person_id": person_id, "per_page": RECENT}, page_of),
            Fetch("mediations", "legal", "/api/v1/legal/cases", {"mediator_person_id": person_id, "per_page": RECENT}, page_of),
        ]
    )
    member_links, cadre_links = rest.pop("member_liaisons"), rest.pop("cadre_liaisons")
    liaisons = None if member_links is None or cadre_links is None else _unique(member_links + cadre_links)
    return MemberProfile(member=member, liaisons=liaisons, **rest, degraded=_without_points_member(composer))


def _unique(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list({link["id"]: link for link in links}.values())


def _without_points_member(composer: Composer) -> list[DegradedSection]:
    # points' copy of the member only stands in for grid's; its absence alone is no loss.
    named = []
    for entry in composer.degraded:
        if entry.section == "points_member":
            continue
        if entry.section in ("member_liaisons", "cadre_liaisons"):
            entry = DegradedSection(section="liaisons", service=entry.service, reason=entry.reason)
        if entry not in named:
            named.append(entry)
    return named
