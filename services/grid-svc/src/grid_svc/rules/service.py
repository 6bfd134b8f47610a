"""Village rules use cases: write a new revision, read the history and diffs, publish the current one."""

from __future__ import annotations

import difflib

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.access import require_grid_admin
from grid_svc.dates import now
from grid_svc.rules.models import PublishedRules, RuleRevision, RuleRevisionCreate, RuleRevisionDiff
from grid_svc.units.models import Level, Unit
from grid_svc.units.service import get_unit
from shared.identity import Identity
from shared.ids import new_id
from shared.problems import conflict, not_found, unprocessable
from shared.scope import path_ids


async def village(session: AsyncSession, *, identity: Identity, unit_id: str) -> Unit:
    """A village in the caller's scope (rules belong to villages), else 404/422."""
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    if unit.level != Level.VILLAGE:
        raise unprocessable(f"village rules belong to a village, not a {unit.level.value}", code="invalid_level", loc=["path", "unit_id"])
    return unit


async def latest_version(session: AsyncSession, unit_id: str) -> int:
    """The highest revision number of a village (0 before any)."""
    return int(await session.scalar(select(func.max(RuleRevision.version)).where(RuleRevision.unit_id == unit_id)) or 0)


async def add_revision(session: AsyncSession, *, identity: Identity, unit_id: str, data: RuleRevisionCreate) -> RuleRevision:
    """Write the next version of a village's rules (the whole text), recording who changed it and why."""
    require_grid_admin(identity)
    unit = await village(session, identity=identity, unit_id=unit_id)
    revision = RuleRevision(
        id=new_id(),
        unit_id=unit.id,
        version=await latest_version(session, unit.id) + 1,
        title=data.title,
        text=data.text,
        effective_on=data.effective_on,
        note=data.note,
        changed_by=identity.subject,
        changed_by_name=identity.name,
        created_at=now(),
    )
    session.add(revision)
    return revision


def revisions_query(unit: Unit) -> Select:
    """A village's revisions, newest first."""
    return select(RuleRevision).where(RuleRevision.unit_id == unit.id).order_by(RuleRevision.version.desc())


async def get_revision(session: AsyncSession, *, identity: Identity, unit_id: str, version: int) -> RuleRevision:
    """One revision of a village in scope, else 404."""
    unit = await village(session, identity=identity, unit_id=unit_id)
    revision = await session.scalar(select(RuleRevision).where(RuleRevision.unit_id == unit.id, RuleRevision.version == version))
    if revision is None:
        raise not_found("revision")
    return revision


async def diff(session: AsyncSession, *, identity: Identity, unit_id: str, version: int) -> RuleRevisionDiff:
    """What a revision changed against the previous one, as a unified diff."""
    revision = await get_revision(session, identity=identity, unit_id=unit_id, version=version)
    previous = await session.scalar(select(RuleRevision).where(RuleRevision.unit_id == revision.unit_id, RuleRevision.version == version - 1))
    lines = difflib.unified_diff(
        (previous.text if previous else "").splitlines(keepends=True),
        revision.text.splitlines(keepends=True),
        fromfile=f"v{previous.version}" if previous else "empty",
        tofile=f"v{revision.version}",
    )
    return RuleRevisionDiff(
        unit_id=revision.unit_id,
        version=revision.version,
        previous_version=previous.version if previous else None,
        changed_by_name=revision.changed_by_name,
        note=revision.note,
        diff="".join(lines),
    )


async def publish(session: AsyncSession, *, identity: Identity, unit_id: str, version: int) -> RuleRevision:
    """Publish the current (latest) revision as the village's public notice; older ones cannot be."""
    require_grid_admin(identity)
    revision = await get_revision(session, identity=identity, unit_id=unit_id, version=version)
    if revision.version != await latest_version(session, revision.unit_id):
        raise conflict("only the current revision can be published", code="not_current")
    if revision.published_at is None:
        revision.published_at = now()
        revision.published_by = identity.subject
    return revision


async def published(session: AsyncSession, *, unit_id: str) -> PublishedRules:
    """The latest published revision of a village, with the names of the village, town and county."""
    unit = await session.get(Unit, unit_id)
    if unit is None or unit.level != Level.VILLAGE or unit.retired_at is not None:
        raise not_found("village")
    revision = await session.scalar(
        select(RuleRevision)
        .where(RuleRevision.unit_id == unit.id, RuleRevision.published_at.is_not(None))
        .order_by(RuleRevision.version.desc())
        .limit(1)
    )
    if revision is None:
        raise not_found("published village rules")
    ids = path_ids(unit.path)
    names = dict((await session.execute(select(Unit.level, Unit.name).where(Unit.id.in_(ids)))).all())
    return PublishedRules(
        village_name=unit.name,
        town_name=names.get(Level.TOWN),
        county_name=names.get(Level.COUNTY),
        title=revision.title,
        text=revision.text,
        version=revision.version,
        effective_on=revision.effective_on,
        published_at=revision.published_at,
    )
