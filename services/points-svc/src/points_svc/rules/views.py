"""HTTP endpoints for scoring rules under `/api/v1/points/rules`."""

from __future__ import annotations

from datetime import date

from points_svc.db import grid, platform
from points_svc.rules import service
from points_svc.rules.models import Category, RuleCreate, RulePublic, RuleUpdate, Trigger
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/points/rules", tags=["rules"])


@router.post("", status_code=201, response_model=RulePublic, summary="Add a scoring rule")
async def create_rule(body: RuleCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Add a rule to a town's catalogue: category, points per deed (negative for deductions),
    monthly cap per member, whether evidence is required, active dates, and for event-driven
    rules the deed event that records it (`trigger`, optionally narrowed by `trigger_filter`).

    A code already used in the town answers 409 `duplicate_code`.
    """

    async def create(session):
        rule = await service.create_rule(session, identity=identity, data=body)
        return RulePublic.model_validate(rule, from_attributes=True)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("", response_model=Page[RulePublic], summary="List scoring rules")
async def list_rules(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    town_unit_id: str | None = None,
    category: Category | None = None,
    trigger: Trigger | None = None,
    active_on: date | None = None,
) -> Page[RulePublic]:
    """Rules of the towns the caller's scope lies in or above, ordered by town and code."""
    async with db.session() as session:
        statement = service.list_rules_query(
            identity=identity, scope_path=await grid.scope_path(session, identity), town_unit_id=town_unit_id,
            category=category, trigger=trigger, active_on=active_on,
        )
        rows, total = await paginate(session, statement, page)
    return Page(items=[RulePublic.model_validate(r, from_attributes=True) for r in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/{rule_id}", response_model=RulePublic, summary="Read a scoring rule")
async def read_rule(rule_id: str, db: DatabaseDep, identity: CurrentIdentity) -> RulePublic:
    """One rule; 404 when missing or of a town unrelated to the caller's scope."""
    async with db.session() as session:
        rule = await service.get_rule(session, identity=identity, rule_id=rule_id)
    return RulePublic.model_validate(rule, from_attributes=True)


@router.patch("/{rule_id}", response_model=RulePublic, summary="Change a scoring rule")
async def update_rule(rule_id: str, body: RuleUpdate, db: DatabaseDep, identity: CurrentIdentity) -> RulePublic:
    """Change a rule's name, points, cap, evidence requirement, end date or filter.

    Entries already recorded keep the points and names they were recorded with.
    """
    async with db.transaction() as session:
        rule = await service.update_rule(session, identity=identity, rule_id=rule_id, data=body)
    return RulePublic.model_validate(rule, from_attributes=True)
