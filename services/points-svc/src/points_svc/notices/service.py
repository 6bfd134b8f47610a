"""Notice use cases: open a branch's month on notice, take objections, resolve them, close the month.

Opening takes the branch's chain lock, so the snapshot and the ledger agree: from then on new
entries of that month go to a later month, and only upheld objections still write into it.
Closing freezes the month for good.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Row, Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.access import path_related, related_condition, require_branch_manager, require_in_scope
from points_svc.db import grid
from points_svc.ledger.models import Entry, SourceKind
from points_svc.ledger.service import append_reversal, lock_chain
from points_svc.members.models import Member
from points_svc.notices.models import (
    EntrySummary,
    Notice,
    NoticeDetail,
    NoticeLine,
    NoticeLinePublic,
    NoticeOpen,
    NoticePublic,
    NoticeStatus,
    Objection,
    ObjectionCreate,
    ObjectionPublic,
    ObjectionResolve,
    ObjectionStatus,
    PublicNotice,
    PublicNoticeLine,
)
from points_svc.periods import objection_deadline
from points_svc.ranking import competition_ranks
from shared.database import Database
from shared.events.points import NoticeClosed, NoticeOpened, ObjectionRaised, ObjectionResolved
from shared.identity import Identity, require_write
from shared.ids import new_id
from shared.local_time import as_utc, current_period
from shared.outbox import emit
from shared.problems import conflict, not_found, unprocessable
from shared.scope import in_subtree

BRANCH_LEVELS = ("village", "town")


def _summary(entry: Entry) -> dict:
    return EntrySummary(
        entry_id=entry.id, rule_name=entry.rule_name, category=entry.category.value, points=entry.points,
        occurred_on=entry.occurred_on.isoformat(), description=entry.description, reverses_entry_id=entry.reverses_entry_id,
    ).model_dump()


async def _period_entries(session: AsyncSession, *, branch_unit_id: str, period: str) -> list[Entry]:
    return list(
        (
            await session.execute(
                select(Entry).where(Entry.branch_unit_id == branch_unit_id, Entry.period == period).order_by(Entry.branch_seq)
            )
        ).scalars()
    )


async def open_notice(session: AsyncSession, *, identity: Identity, data: NoticeOpen, default_working_days: int) -> Notice:
    """Snapshot every member's points and entries for the branch's month, ranked; emit NoticeOpened."""
    require_branch_manager(identity)
    branch = await grid.get_in_scope(session, identity, data.branch_unit_id)
    if branch.level not in BRANCH_LEVELS:
        raise unprocessable(f"a notice is per party branch (village), not per {branch.level}", code="not_a_branch", loc=["body", "branch_unit_id"])
    if data.period > current_period():
        raise unprocessable(f"{data.period} has not begun yet", code="future_period", loc=["body", "period"])
    await lock_chain(session, branch_unit_id=branch.id, branch_path=branch.path)
    if await session.scalar(select(Notice.id).where(Notice.branch_unit_id == branch.id, Notice.period == data.period)):
        raise conflict(f"the notice of {data.period} for this branch already exists", code="notice_exists")
    entries = await _period_entries(session, branch_unit_id=branch.id, period=data.period)
    by_member: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_member[entry.member_id].append(entry)
    first_day = date(int(data.period[:4]), int(data.period[5:7]), 1)
    roster = (
        await session.execute(
            select(Member.id, Member.name).where(
                Member.branch_unit_id == branch.id, or_(Member.left_on.is_(None), Member.left_on >= first_day)
            )
        )
    ).all()
    names = {member_id: name for member_id, name in roster}
    for member_id, member_entries in by_member.items():
        names.setdefault(member_id, member_entries[-1].member_name)
    totals = sorted(
        ((sum(e.points for e in by_member.get(m, [])), names[m], m) for m in names), key=lambda t: (-t[0], t[1], t[2])
    )
    ranks = competition_ranks([t[0] for t in totals])
    now = datetime.now(UTC)
    days = default_working_days if data.objection_working_days is None else data.objection_working_days
    notice = Notice(
        id=new_id(), branch_unit_id=branch.id, branch_path=branch.path, branch_name=branch.name, period=data.period,
        status=NoticeStatus.OPEN, objection_working_days=days, objection_deadline=objection_deadline(now, days),
        members=len(totals), total_points=sum(t[0] for t in totals), opened_by=identity.subject, opened_at=now,
    )
    session.add(notice)
    await session.flush()
    for rank, (points, name, member_id) in zip(ranks, totals, strict=True):
        session.add(
            NoticeLine(notice_id=notice.id, member_id=member_id, name=name, rank=rank, points=points,
                       entries=[_summary(e) for e in by_member.get(member_id, [])])
        )
    emit(
        session,
        NoticeOpened(
            notice_id=notice.id, branch_unit_id=branch.id, unit_path=branch.path, period=notice.period, members=notice.members,
            total_points=notice.total_points, objection_deadline=notice.objection_deadline,
        ),
    )
    return notice


async def get_notice(session: AsyncSession, *, identity: Identity, notice_id: str) -> Notice:
    """A notice of a branch the caller's scope lies in or above, else 404 (residents read their village's)."""
    notice = await session.get(Notice, notice_id)
    if notice is None or not path_related(notice.branch_path, identity, await grid.scope_path(session, identity)):
        raise not_found("notice")
    return notice


async def raise_objection(session: AsyncSession, *, identity: Identity, notice_id: str, data: ObjectionCreate) -> Objection:
    """Object to an entry on an open notice before its deadline; emit ObjectionRaised."""
    require_write(identity, "points")
    notice = await get_notice(session, identity=identity, notice_id=notice_id)
    now = datetime.now(UTC)
    if notice.status != NoticeStatus.OPEN or now > as_utc(notice.objection_deadline):
        raise unprocessable(
            f"objections to this notice closed at {as_utc(notice.objection_deadline).isoformat()}", code="objection_window_closed"
        )
    entry = await session.get(Entry, data.entry_id)
    line = await session.get(NoticeLine, (notice.id, entry.member_id)) if entry is not None else None
    if line is None or entry.id not in {e["entry_id"] for e in line.entries}:
        raise unprocessable("the entry is not on this notice", code="entry_not_on_notice", loc=["body", "entry_id"])
    objection = Objection(
        id=new_id(), notice_id=notice.id, entry_id=entry.id, reason=data.reason, raised_by=identity.subject, raised_at=now,
        status=ObjectionStatus.PENDING,
    )
    session.add(objection)
    await session.flush()
    emit(
        session,
        ObjectionRaised(notice_id=notice.id, objection_id=objection.id, entry_id=entry.id, branch_unit_id=notice.branch_unit_id,
                        period=notice.period),
    )
    return objection


async def resolve_objection(
    session: AsyncSession, *, identity: Identity, notice_id: str, objection_id: str, data: ObjectionResolve
) -> Objection:
    """Decide an objection: upheld records the reversing entry in the noticed month; emit ObjectionResolved."""
    require_branch_manager(identity)
    notice = await get_notice(session, identity=identity, notice_id=notice_id)
    require_in_scope(notice.branch_path, identity, await grid.scope_path(session, identity), "notice")
    objection = await session.get(Objection, objection_id)
    if objection is None or objection.notice_id != notice.id:
        raise not_found("objection")
    if data.decision == ObjectionStatus.PENDING:
        raise unprocessable("the decision is upheld or rejected", loc=["body", "decision"])
    if objection.status != ObjectionStatus.PENDING:
        raise conflict(f"the objection was already {objection.status.value}", code="already_resolved")
    if notice.status != NoticeStatus.OPEN:
        raise conflict("the notice is closed", code="notice_closed")
    if data.decision == ObjectionStatus.UPHELD:
        original = await session.get(Entry, objection.entry_id)
        reversal = await append_reversal(
            session, original=original, reason=data.reason, recorded_by=identity.subject, source_kind=SourceKind.OBJECTION,
            source_ref=objection.id, allow_open_period=True,
        )
        objection.reversal_entry_id = reversal.id
    objection.status, objection.resolution = data.decision, data.reason
    objection.resolved_by, objection.resolved_at = identity.subject, datetime.now(UTC)
    emit(
        session,
        ObjectionResolved(notice_id=notice.id, objection_id=objection.id, entry_id=objection.entry_id,
                          decision=data.decision.value, reversal_entry_id=objection.reversal_entry_id),
    )
    return objection


async def close_notice(session: AsyncSession, *, identity: Identity, notice_id: str) -> Notice:
    """After the deadline, with every objection decided: freeze the month; emit NoticeClosed."""
    require_branch_manager(identity)
    notice = await get_notice(session, identity=identity, notice_id=notice_id)
    require_in_scope(notice.branch_path, identity, await grid.scope_path(session, identity), "notice")
    if notice.status != NoticeStatus.OPEN:
        raise conflict("the notice is already closed", code="notice_closed")
    now = datetime.now(UTC)
    if now < as_utc(notice.objection_deadline):
        raise conflict(
            f"objections are taken until {as_utc(notice.objection_deadline).isoformat()}", code="objection_window_open"
        )
    pending = await session.scalar(
        select(Objection.id).where(Objection.notice_id == notice.id, Objection.status == ObjectionStatus.PENDING).limit(1)
    )
    if pending is not None:
        raise conflict("decide every objection before closing", code="objections_pending")
    await lock_chain(session, branch_unit_id=notice.branch_unit_id, branch_path=notice.branch_path)
    # The month now holds the snapshot plus the reversals of upheld objections: the final word.
    by_member: dict[str, list[Entry]] = defaultdict(list)
    for entry in await _period_entries(session, branch_unit_id=notice.branch_unit_id, period=notice.period):
        by_member[entry.member_id].append(entry)
    finals = {member_id: sum(e.points for e in entries) for member_id, entries in by_member.items()}
    lines = (await session.execute(select(NoticeLine).where(NoticeLine.notice_id == notice.id))).scalars().all()
    for line in lines:
        line.final_points = finals.get(line.member_id, 0)
        line.entries = [_summary(e) for e in by_member.get(line.member_id, [])]
    notice.status, notice.closed_by, notice.closed_at = NoticeStatus.CLOSED, identity.subject, now
    notice.total_points = sum(finals.values())
    emit(
        session,
        NoticeClosed(notice_id=notice.id, branch_unit_id=notice.branch_unit_id, unit_path=notice.branch_path, period=notice.period,
                     members=notice.members, total_points=notice.total_points, closed_at=now),
    )
    return notice


NOTICE_WITH_SCOPE = select(Notice.__table__, grid.scope_path_column()).where(Notice.id == bindparam("notice_id"))
LINES_OF = (
    select(NoticeLine.__table__)
    .where(NoticeLine.notice_id == bindparam("notice_id"))
    .order_by(NoticeLine.rank, NoticeLine.name, NoticeLine.member_id)
)
OBJECTIONS_OF = select(Objection.__table__).where(Objection.notice_id == bindparam("notice_id")).order_by(Objection.id)


async def read_notice(db: Database, *, identity: Identity, notice_id: str) -> NoticeDetail:
    """`get_notice` with its lines and objections (`notice_detail`), as rows in three round trips."""
    notice = await db.fetch_one(NOTICE_WITH_SCOPE, {"notice_id": notice_id, "scope_unit_id": identity.scope_unit_id})
    if notice is None or not path_related(notice.branch_path, identity, notice.scope_path):
        raise not_found("notice")
    params = {"notice_id": notice_id}
    return detail_of(notice, await db.fetch_all(LINES_OF, params), await db.fetch_all(OBJECTIONS_OF, params))


async def notice_detail(session: AsyncSession, notice: Notice) -> NoticeDetail:
    """A notice with its ranked lines and its objections."""
    await session.flush()  # table selects do not autoflush; this transaction's own changes must show
    params = {"notice_id": notice.id}
    lines = (await session.execute(LINES_OF, params)).all()
    return detail_of(notice, lines, (await session.execute(OBJECTIONS_OF, params)).all())


def detail_of(notice: Notice | Row, lines: Sequence[Row], objections: Sequence[Row]) -> NoticeDetail:
    """The API shape of a notice with its lines and objections."""
    return NoticeDetail(
        **NoticePublic.model_validate(notice, from_attributes=True).model_dump(),
        lines=[NoticeLinePublic.model_validate(line, from_attributes=True) for line in lines],
        objections=[ObjectionPublic.model_validate(o, from_attributes=True) for o in objections],
    )


async def public_notice(session: AsyncSession, *, identity: Identity, branch_unit_id: str, period: str) -> PublicNotice:
    """The printable notice of a branch's month: names, ranks, points and what for; nothing personal."""
    notice = (
        await session.execute(select(Notice).where(Notice.branch_unit_id == branch_unit_id, Notice.period == period))
    ).scalar_one_or_none()
    if notice is None or not path_related(notice.branch_path, identity, await grid.scope_path(session, identity)):
        raise not_found("notice")
    detail = await notice_detail(session, notice)
    return PublicNotice(
        branch_name=notice.branch_name, period=notice.period, status=notice.status, opened_at=notice.opened_at,
        objection_deadline=notice.objection_deadline, total_points=notice.total_points,
        lines=[
            PublicNoticeLine(
                rank=line.rank, name=line.name, points=line.final_points if line.final_points is not None else line.points,
                entries=[f"{e.rule_name} {e.points:+d}" for e in line.entries],
            )
            for line in detail.lines
        ],
    )


def list_notices_query(
    *, identity: Identity, scope_path: str | None, under_path: str | None, period: str | None, status: NoticeStatus | None
) -> Select:
    """Notices of branches in scope, newest month first."""
    statement = select(Notice).where(related_condition(Notice.branch_path, identity, scope_path))
    if under_path is not None:
        statement = statement.where(in_subtree(Notice.branch_path, under_path))
    if period is not None:
        statement = statement.where(Notice.period == period)
    if status is not None:
        statement = statement.where(Notice.status == status)
    return statement.order_by(Notice.period.desc(), Notice.branch_unit_id, Notice.id)
