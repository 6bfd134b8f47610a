"""HTTP endpoints for monthly notices under `/api/v1/points/notices` and the public notice data."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import Response

from points_svc.db import grid, platform
from points_svc.notices import service
from points_svc.notices.export import XLSX_MEDIA_TYPE, notice_workbook
from points_svc.notices.models import (
    NoticeDetail,
    NoticeOpen,
    NoticePublic,
    NoticeStatus,
    ObjectionCreate,
    ObjectionPublic,
    ObjectionResolve,
    PublicNotice,
)
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.local_time import PERIOD_PATTERN
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/points", tags=["notices"])


@router.post("/notices", status_code=201, response_model=NoticeDetail, summary="Open a monthly notice")
async def open_notice(body: NoticeOpen, request: Request, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Put a branch's month on public notice (一月一公示): a frozen, ranked snapshot of every
    member's points and entries. Objections are taken for `objection_working_days` working days
    (Mon–Fri; public holidays are not modelled yet). New entries of that month go to a later one.
    409 `notice_exists` when the month was already put on notice.
    """
    default_days = request.app.state.settings.notice_objection_working_days

    async def create(session):
        notice = await service.open_notice(session, identity=identity, data=body, default_working_days=default_days)
        await session.flush()
        return await service.notice_detail(session, notice)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/notices", response_model=Page[NoticePublic], summary="List monthly notices")
async def list_notices(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: str | None = None,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    status: NoticeStatus | None = None,
) -> Page[NoticePublic]:
    """Notices of branches in (or above) the caller's scope, newest month first."""
    async with db.session() as session:
        under_path = (await grid.get_in_scope(session, identity, under)).path if under else None
        statement = service.list_notices_query(
            identity=identity, scope_path=await grid.scope_path(session, identity), under_path=under_path, period=period, status=status
        )
        rows, total = await paginate(session, statement, page)
    return Page(items=[NoticePublic.model_validate(n, from_attributes=True) for n in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/notices/{notice_id}", response_model=NoticeDetail, summary="Read a monthly notice")
async def read_notice(notice_id: str, db: DatabaseDep, identity: CurrentIdentity) -> NoticeDetail:
    """A notice with its ranked lines, their entries and the objections raised."""
    return await service.read_notice(db, identity=identity, notice_id=notice_id)


@router.post("/notices/{notice_id}/objections", status_code=201, response_model=ObjectionPublic, summary="Raise an objection")
async def raise_objection(notice_id: str, body: ObjectionCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Object to one entry on an open notice, before its deadline (422 `objection_window_closed` after)."""

    async def create(session):
        objection = await service.raise_objection(session, identity=identity, notice_id=notice_id, data=body)
        return ObjectionPublic.model_validate(objection, from_attributes=True)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.post("/notices/{notice_id}/objections/{objection_id}/resolve", response_model=ObjectionPublic, summary="Decide an objection")
async def resolve_objection(
    notice_id: str, objection_id: str, body: ObjectionResolve, db: DatabaseDep, identity: CurrentIdentity
) -> ObjectionPublic:
    """The branch decides: `upheld` records a reversing entry in the noticed month; `rejected` keeps the entry."""
    async with db.transaction() as session:
        objection = await service.resolve_objection(session, identity=identity, notice_id=notice_id, objection_id=objection_id, data=body)
    return ObjectionPublic.model_validate(objection, from_attributes=True)


@router.post("/notices/{notice_id}/close", response_model=NoticeDetail, summary="Close a monthly notice")
async def close_notice(notice_id: str, db: DatabaseDep, identity: CurrentIdentity) -> NoticeDetail:
    """After the deadline and with every objection decided, freeze the month: later corrections
    go into a later month, naming the original entry. Lines get their final points."""
    async with db.transaction() as session:
        notice = await service.close_notice(session, identity=identity, notice_id=notice_id)
        await session.flush()
        return await service.notice_detail(session, notice)


@router.get(
    "/notices/{notice_id}/export.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "the notice as a workbook"}},
    summary="Export a notice as XLSX",
)
async def export_notice(notice_id: str, db: DatabaseDep, identity: CurrentIdentity) -> Response:
    """The notice (rank, name, points, summary) and every entry behind it, as an Excel workbook."""
    async with db.session() as session:
        notice = await service.get_notice(session, identity=identity, notice_id=notice_id)
        detail = await service.notice_detail(session, notice)
    filename = f"points-notice-{notice.branch_unit_id}-{notice.period}.xlsx"
    return Response(
        notice_workbook(detail), media_type=XLSX_MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/public/notices/{branch_unit_id}/{period}", response_model=PublicNotice, summary="Public notice data")
async def read_public_notice(
    branch_unit_id: str,
    period: Annotated[str, Path(pattern=PERIOD_PATTERN)],
    db: DatabaseDep,
    identity: CurrentIdentity,
) -> PublicNotice:
    """What the gateway's public notice page prints: branch, month, names, ranks, points, a
    summary of entries and the objection deadline — names only, no personal data. The gateway
    calls it with its service identity; other callers see notices of their own area."""
    async with db.session() as session:
        return await service.public_notice(session, identity=identity, branch_unit_id=branch_unit_id, period=period)
