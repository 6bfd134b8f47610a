"""Rule use cases: a town's catalogue, changed without touching past entries."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.access import path_related, related_condition, require_in_scope, require_town_manager
from points_svc.db import grid
from points_svc.rules.models import Category, Rule, RuleCreate, RuleUpdate, Trigger, check_rule
from shared.identity import Identity
from shared.ids import new_id
from shared.problems import conflict, not_found, unprocessable


async def create_rule(session: AsyncSession, *, identity: Identity, data: RuleCreate) -> Rule:
    """Add a rule to a town's catalogue (the town must be in the caller's scope)."""
    require_town_manager(identity)
    town = await grid.get(session, data.town_unit_id)
    if town is None:
        raise not_found("town")  # also for unrestricted callers, whom the scope check lets through
    require_in_scope(town.path, identity, await grid.scope_path(session, identity), "town")
    if town.level != "town":
        raise unprocessable(f"rules belong to a town, not a {town.level}", code="not_a_town", loc=["body", "town_unit_id"])
    taken = await session.scalar(select(Rule.id).where(Rule.town_unit_id == town.id, Rule.code == data.code))
    if taken is not None:
        raise conflict(f"rule code {data.code} is already used in this town", code="duplicate_code")
    now = datetime.now(UTC)
    rule = Rule(
        id=new_id(), town_path=town.path, created_by=identity.subject, created_at=now, updated_at=now,
        **data.model_dump(),
    )
    session.add(rule)
    await session.flush()
    return rule


async def get_rule(session: AsyncSession, *, identity: Identity, rule_id: str) -> Rule:
    """A rule of a town the caller's scope lies in or above, else 404."""
    rule = await session.get(Rule, rule_id)
    if rule is None or not path_related(rule.town_path, identity, await grid.scope_path(session, identity)):
        raise not_found("rule")
    return rule


async def update_rule(session: AsyncSession, *, identity: Identity, rule_id: str, data: RuleUpdate) -> Rule:
    """Change a rule; past entries keep their own copy of the points."""
    require_town_manager(identity)
    rule = await get_rule(session, identity=identity, rule_id=rule_id)
    require_in_scope(rule.town_path, identity, await grid.scope_path(session, identity), "rule")
    changes = data.model_dump(exclude_unset=True)
    merged = {**rule.model_dump(), **changes}
    try:
        check_rule(rule.category, merged["points"], merged["active_from"], merged["active_until"])
    except ValueError as exc:
        raise unprocessable(str(exc), code="invalid_rule") from exc
    for key, value in changes.items():
        setattr(rule, key, value)
    rule.updated_at = datetime.now(UTC)
    return rule


def list_rules_query(
    *, identity: Identity, scope_path: str | None, town_unit_id: str | None, category: Category | None,
    trigger: Trigger | None, active_on: date | None,
) -> Select:
    """Rules of towns related to the caller's scope, ordered by town and code."""
    statement = select(Rule).where(related_condition(Rule.town_path, identity, scope_path))
    if town_unit_id is not None:
        statement = statement.where(Rule.town_unit_id == town_unit_id)
    if category is not None:
        statement = statement.where(Rule.category == category)
    if trigger is not None:
        statement = statement.where(Rule.trigger == trigger)
    if active_on is not None:
        statement = statement.where(Rule.active_from <= active_on, or_(Rule.active_until.is_(None), Rule.active_until >= active_on))
    return statement.order_by(Rule.town_unit_id, Rule.code, Rule.id)


async def rule_for_trigger(
    session: AsyncSession, *, town_unit_id: str | None, trigger: Trigger, value: str | None, on: date
) -> Rule | None:
    """The town's active rule for a deed event: one naming the event's code wins over a catch-all."""
    if town_unit_id is None:
        return None
    rules = (
        await session.execute(
            select(Rule)
            .where(
                Rule.town_unit_id == town_unit_id,
                Rule.trigger == trigger,
                Rule.active_from <= on,
                or_(Rule.active_until.is_(None), Rule.active_until >= on),
                or_(Rule.trigger_filter.is_(None), Rule.trigger_filter == (value or "")),
            )
            .order_by(Rule.created_at.desc(), Rule.id.desc())
        )
    ).scalars().all()
    specific = [r for r in rules if r.trigger_filter]
    return (specific or rules or [None])[0]
