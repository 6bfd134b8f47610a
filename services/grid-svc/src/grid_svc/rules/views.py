"""HTTP endpoints for village rules: staff under `/api/v1/grid/villages/{id}/rules`, the public notice under
`/api/v1/grid/public/villages/{id}/rules` (no identity needed; names and text only)."""

from __future__ import annotations

from fastapi import Response

from grid_svc.db import platform
from grid_svc.rules import service
from grid_svc.rules.models import PublishedRules, RuleRevisionCreate, RuleRevisionDiff, RuleRevisionPublic
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate_rows
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/grid/villages/{unit_id}/rules", tags=["village rules"])
public_router = api_router(prefix="/api/v1/grid/public", tags=["public"])


def _public(revision, latest: int) -> RuleRevisionPublic:  # noqa: ANN001 - a RuleRevision
    return RuleRevisionPublic.model_validate({**revision.model_dump(), "is_current": revision.version == latest})


@router.post("/revisions", status_code=201, response_model=RuleRevisionPublic, summary="Write a new version of the rules")
async def add_revision(unit_id: str, body: RuleRevisionCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Store the whole new text as the next version; earlier versions stay unchanged (who, when, why recorded)."""

    async def create(session):
        revision = await service.add_revision(session, identity=identity, unit_id=unit_id, data=body)
        return _public(revision, revision.version)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/revisions", response_model=Page[RuleRevisionPublic], summary="Revision history")
async def list_revisions(unit_id: str, db: DatabaseDep, identity: CurrentIdentity, page: PageDep) -> Page[RuleRevisionPublic]:
    """Every version of the village's rules, newest first."""
    async with db.session() as session:
        unit = await service.village(session, identity=identity, unit_id=unit_id)
        rows, total = await paginate_rows(session, service.revisions_query(unit), page)
        latest = await service.latest_version(session, unit.id)
    return Page(items=[_public(r, latest) for (r,) in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/revisions/{version}", response_model=RuleRevisionPublic, summary="Read one version")
async def read_revision(unit_id: str, version: int, db: DatabaseDep, identity: CurrentIdentity) -> RuleRevisionPublic:
    """One version of the rules."""
    async with db.session() as session:
        revision = await service.get_revision(session, identity=identity, unit_id=unit_id, version=version)
        latest = await service.latest_version(session, revision.unit_id)
    return _public(revision, latest)


@router.get("/revisions/{version}/diff", response_model=RuleRevisionDiff, summary="What a version changed")
async def revision_diff(unit_id: str, version: int, db: DatabaseDep, identity: CurrentIdentity) -> RuleRevisionDiff:
    """Unified diff of this version's text against the previous version, with who changed it and why."""
    async with db.session() as session:
        return await service.diff(session, identity=identity, unit_id=unit_id, version=version)


@router.post("/revisions/{version}/publish", response_model=RuleRevisionPublic, summary="Publish the current version")
async def publish(unit_id: str, version: int, db: DatabaseDep, identity: CurrentIdentity) -> RuleRevisionPublic:
    """Make the current version the village's public notice (409 `not_current` for an older version)."""
    async with db.transaction() as session:
        revision = await service.publish(session, identity=identity, unit_id=unit_id, version=version)
    return _public(revision, revision.version)


@public_router.get("/villages/{unit_id}/rules", response_model=PublishedRules, summary="Published village rules (public)")
async def published_rules(unit_id: str, db: DatabaseDep, response: Response) -> PublishedRules:
    """The village's published rules for the public notice page: names and text only, no login needed."""
    async with db.session() as session:
        rules = await service.published(session, unit_id=unit_id)
    response.headers["Cache-Control"] = "public, max-age=60"
    return rules
