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
    """Two concurrent rounds: what is known by the member's id, then what needs their person and branch.

    grid-svc answers the member with their roles and liaisons in one summary; points-svc's balance
    names the branch the rating is listed under. Only when grid-svc cannot answer is points-svc's
    copy of the member asked for, to stand in (it carries the person the second round needs).
    """
    first = await composer.run(
        [
            Fetch("member", "grid", "/api/v1/grid/reports/member-summary", {"member_id": member_id}, subject=True,
                  covers=("member", "roles", "liaisons")),
            Fetch("balance", "points", f"/api/v1/points/members/{member_id}/balance"),
            Fetch("recent_entries", "points", "/api/v1/points/entries", {"member_id": member_id, "per_page": RECENT}, items_of),
        ]
    )
    registry = first["member"] or {}
    member = registry.get("member")
    points_member = None
    if member is None:
        points_member = (await composer.run([Fetch("points_member", "points", f"/api/v1/points/members/{member_id}")]))["points_member"]
        if points_member is not None:
            # points' copy stands in for grid's: the section is there, though from the roster.
            member = points_member
            composer.degraded[:] = [d for d in composer.degraded if d.section != "member"]
    if member is None:
        # Neither service could say who this is: nothing else can be asked.
        return MemberProfile(
            member=None, roles=None, liaisons=None, balance=first["balance"], rating=None, recent_entries=first["recent_entries"],
            orders_served=None, lectures_given=None, mediations=None, degraded=_without_points_member(composer),
        )
    person_id = member["person_id"]
    branch_unit_id = (first["balance"] or points_member or {}).get("branch_unit_id")
    points_missing = next((d.reason for d in composer.degraded if d.section == "balance"), "not provided")
    rest = await composer.run(
        [
            # The member's ratings in their branch, newest span first: the first is their latest. Asking for
            # theirs alone spares points-svc and the gateway a branch page, and finds it in a branch of any size.
            Fetch("rating", "points", "/api/v1/points/ratings",
                  {"branch_unit_id": branch_unit_id, "member_id": member_id, "per_page": 1},
                  lambda page: next((r for r in page["items"] if r["member_id"] == member_id), None),
                  provided=branch_unit_id is not None, missing_reason=points_missing),
            Fetch("orders_served", "dispatch", "/api/v1/dispatch/orders", {"assignee_person_id": person_id, "per_page": RECENT}, page_of),
            Fetch("lectures_given", "dispatch", "/api/v1/dispatch/lectures", {"lecturer_person_id": person_id, "per_page": RECENT}, page_of),
            Fetch("mediations", "legal", "/api/v1/legal/cases", {"mediator_person_id": person_id, "per_page": RECENT}, page_of),
        ]
    )
    return MemberProfile(
        member=member, roles=registry.get("roles"), liaisons=registry.get("liaisons"), balance=first["balance"],
        recent_entries=first["recent_entries"], **rest, degraded=_without_points_member(composer),
    )


def _without_points_member(composer: Composer) -> list[DegradedSection]:
    # points' copy of the member only stands in for grid's; its absence alone is no loss.
    return [entry for entry in composer.degraded if entry.section != "points_member"]
