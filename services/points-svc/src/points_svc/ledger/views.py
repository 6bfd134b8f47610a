"""HTTP endpoints for the ledger under `/api/v1/points/entries` and `/api/v1/points/ledger`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import StringConstraints

from points_svc.db import grid, platform
from points_svc.ledger import service
from points_svc.ledger.models import (
    EntryBatch,
    EntryBatchResult,
    EntryCreate,
    EntryPublic,
    EntryReverse,
    SourceKind,
    VerifyReport,
)
from points_svc.rules.models import Category
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.local_time import PERIOD_PATTERN
from shared.pagination import Page, PageDep
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/points", tags=["ledger"])


@router.post("/entries", status_code=201, response_model=EntryPublic, summary="Record a deed")
async def record_entry(body: EntryCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Record one deed (or deduction) for a member under one of their town's rules.

    The points come from the rule. The month is the deed's month in Asia/Shanghai, or the first
    later month not yet on notice. Refusals are 422 with a code: `monthly_cap_exceeded` (names
    the cap), `evidence_required`, `rule_inactive`, `rule_not_in_town`, `future_date`, `member_left`.
    """

    async def create(session):
        entry = await service.record_entry(session, identity=identity, data=body)
        return EntryPublic.model_validate(entry, from_attributes=True)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.post("/entries:batch", status_code=201, response_model=EntryBatchResult, summary="Record deeds in a batch")
async def record_entries(body: EntryBatch, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Record up to 5,000 deeds in one transaction, each under the same rules as `POST /entries` (caps count
    the batch's earlier entries too). All or nothing: any refusal answers 422 `batch_rejected` with one error
    per refused entry (`loc` = body, entries, index, field) and records nothing. For loading history and
    county systems that send a month's deeds at once; each entry publishes EntryRecorded as one by one.
    """

    async def create(session):
        entries = await service.record_entries(session, identity=identity, items=body.entries)
        return EntryBatchResult(recorded=len(entries), entries=entries)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/entries", response_model=Page[EntryPublic], summary="List ledger entries")
async def list_entries(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(description="only entries of members under this unit")] = None,
    member_id: str | None = None,
    branch_unit_id: str | None = None,
    period: Annotated[
        list[Annotated[str, StringConstraints(pattern=PERIOD_PATTERN)]] | None,
        Query(max_length=120, description="one or more months (YYYY-MM): repeat to list the entries of several"),
    ] = None,
    category: Category | None = None,
    source_kind: SourceKind | None = None,
) -> Page[EntryPublic]:
    """Entries in the caller's scope, newest first; 404 when `under` is missing or outside the scope."""
    return await service.list_entries(
        db, page=page, subtree=await grid.list_subtree(db, identity, under),
        member_id=member_id, branch_unit_id=branch_unit_id, periods=period, category=category, source_kind=source_kind,
    )


@router.get("/entries/{entry_id}", response_model=EntryPublic, summary="Read a ledger entry")
async def read_entry(entry_id: str, db: DatabaseDep, identity: CurrentIdentity) -> EntryPublic:
    """One entry with its chain hashes; 404 when missing or outside the caller's scope."""
    async with db.session() as session:
        entry = await service.get_entry(session, identity=identity, entry_id=entry_id)
    return EntryPublic.model_validate(entry, from_attributes=True)


@router.post("/entries/{entry_id}/reverse", status_code=201, response_model=EntryPublic, summary="Reverse a ledger entry")
async def reverse_entry(entry_id: str, body: EntryReverse, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Correct an entry by recording its reversal (the original is never changed).

    The reversal lands in the original's month, or — when that month is on notice or closed —
    in a later month, naming the original. 409 `already_reversed` when it was reversed before.
    """

    async def create(session):
        entry = await service.reverse_entry(session, identity=identity, entry_id=entry_id, reason=body.reason)
        return EntryPublic.model_validate(entry, from_attributes=True)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/ledger/verify", response_model=VerifyReport, summary="Verify the ledger's hash chains")
async def verify_ledger(db: DatabaseDep, identity: CurrentIdentity, branch_unit_id: str | None = None) -> VerifyReport:
    """Re-walk each branch's chain in scope and report the first broken link of each
    (`hash_mismatch`, `prev_hash_mismatch`, `sequence_gap`, `head_mismatch`)."""
    async with db.snapshot() as session:
        return await service.verify_chains(session, identity=identity, branch_unit_id=branch_unit_id)
