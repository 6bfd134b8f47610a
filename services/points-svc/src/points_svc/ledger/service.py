"""Ledger use cases: append entries to a branch's chain, reverse them, verify the chains.

Every write takes the branch's chain-head row first (SELECT … FOR UPDATE on PostgreSQL;
SQLite has one writer at a time anyway), so two writers of one branch never fork its chain,
and caps and frozen months are checked under the same lock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.access import require_auditor, require_branch_manager
from points_svc.db import grid
from points_svc.ledger.chain import entry_hash
from points_svc.ledger.models import (
    GENESIS_HASH,
    Balance,
    BrokenLink,
    ChainHead,
    ChainReport,
    Entry,
    EntryCreate,
    SourceKind,
    VerifyReport,
)
from points_svc.members.models import Member
from points_svc.members.service import get_member
from points_svc.notices.models import Notice, NoticeStatus
from points_svc.rules.models import Category, Rule
from points_svc.tree import branch_of
from shared.events.points import EntryRecorded, EntryReversed
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import next_period, period_of, today
from shared.outbox import emit
from shared.problems import Problem, conflict, not_found, unprocessable
from shared.scope import in_subtree, path_in_scope, scope_condition


def _insert(session: AsyncSession):  # noqa: ANN202 - the dialect's INSERT … ON CONFLICT construct
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def lock_chain(session: AsyncSession, *, branch_unit_id: str, branch_path: str) -> tuple[int, str]:
    """Take the branch's chain head for this transaction; return (last sequence, last hash)."""
    insert = _insert(session)
    await session.execute(
        insert(ChainHead.__table__)
        .values(branch_unit_id=branch_unit_id, branch_path=branch_path, last_seq=0, last_hash=GENESIS_HASH, updated_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["branch_unit_id"])
    )
    row = (
        await session.execute(
            select(ChainHead.last_seq, ChainHead.last_hash).where(ChainHead.branch_unit_id == branch_unit_id).with_for_update()
        )
    ).one()
    return row.last_seq, row.last_hash


async def writable_period(session: AsyncSession, *, branch_unit_id: str, period: str, allow_open: bool = False) -> str:
    """`period`, or the first later month of the branch not on notice (closed months are frozen)."""
    states = dict(
        (
            await session.execute(
                select(Notice.period, Notice.status).where(Notice.branch_unit_id == branch_unit_id, Notice.period >= period)
            )
        ).all()
    )
    target = period
    while target in states and not (allow_open and states[target] == NoticeStatus.OPEN):
        target = next_period(target)
    return target


async def _member_rule_total(session: AsyncSession, *, member_id: str, rule_id: str, period: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Entry.points), 0)).where(
            Entry.member_id == member_id, Entry.rule_id == rule_id, Entry.period == period
        )
    )
    return int(total or 0)


async def _append(session: AsyncSession, *, fields: dict, branch_path: str) -> Entry:
    """Link the entry to its branch's chain, store it, move the head, and keep the balance."""
    last_seq, last_hash = await lock_chain(session, branch_unit_id=fields["branch_unit_id"], branch_path=branch_path)
    fields = {**fields, "id": new_id(), "branch_seq": last_seq + 1, "created_at": datetime.now(UTC)}
    digest = entry_hash(fields, last_hash)
    entry = Entry(**fields, prev_hash=last_hash, hash=digest)
    session.add(entry)
    await session.flush()
    await session.execute(
        update(ChainHead)
        .where(ChainHead.branch_unit_id == entry.branch_unit_id)
        .values(last_seq=entry.branch_seq, last_hash=digest, updated_at=entry.created_at)
    )
    insert = _insert(session)
    statement = insert(Balance.__table__).values(member_id=entry.member_id, period=entry.period, points=entry.points, entries=1)
    table = Balance.__table__
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["member_id", "period"],
            set_={"points": table.c.points + statement.excluded.points, "entries": table.c.entries + 1},
        )
    )
    return entry


async def _deed_fields(
    session: AsyncSession, *, member: Member, rule: Rule, occurred_on: date, description: str, evidence: list[str],
    recorded_by: str, source_kind: SourceKind, source_ref: str | None, source_event_id: str | None,
) -> tuple[dict, str]:
    """Check a deed against its rule (town, dates, evidence, cap) and build its fields; nothing is written."""
    if rule.town_unit_id != member.town_unit_id:
        raise unprocessable("the rule belongs to another town than the member's", code="rule_not_in_town", loc=["body", "rule_id"])
    if occurred_on > today():
        raise unprocessable("a deed cannot be recorded before it happened", code="future_date", loc=["body", "occurred_on"])
    if occurred_on < rule.active_from or (rule.active_until is not None and occurred_on > rule.active_until):
        raise unprocessable(f"rule {rule.code} is not active on {occurred_on}", code="rule_inactive", loc=["body", "rule_id"])
    if member.left_on is not None and occurred_on > member.left_on:
        raise unprocessable("the member had left the organisation by then", code="member_left", loc=["body", "occurred_on"])
    if rule.evidence_required and not evidence:
        raise unprocessable(f"rule {rule.code} requires evidence links", code="evidence_required", loc=["body", "evidence"])
    branch_id, branch_path = branch_of(member.unit_path)
    occurred_period = period_of(occurred_on)
    period = await writable_period(session, branch_unit_id=branch_id, period=occurred_period)
    if rule.monthly_cap is not None:
        total = await _member_rule_total(session, member_id=member.id, rule_id=rule.id, period=period)
        if abs(total + rule.points) > rule.monthly_cap:
            raise Problem(
                422,
                "monthly_cap_exceeded",
                f"rule {rule.code} caps a member at {rule.monthly_cap} points per month; "
                f"{member.name} has {total} in {period} and this entry ({rule.points:+d}) would exceed it",
                errors=[{"loc": ["body", "rule_id"], "msg": f"monthly cap {rule.monthly_cap} of rule {rule.code}", "type": "monthly_cap_exceeded"}],
            )
    fields = dict(
        branch_unit_id=branch_id, unit_path=member.unit_path, town_unit_id=member.town_unit_id, member_id=member.id,
        person_id=member.person_id, member_name=member.name, rule_id=rule.id, rule_code=rule.code, rule_name=rule.name,
        category=rule.category, points=rule.points, occurred_on=occurred_on, period=period,
        original_period=occurred_period if period != occurred_period else None, description=description, evidence=evidence,
        recorded_by=recorded_by, source_kind=source_kind, source_ref=source_ref, source_event_id=source_event_id,
        reverses_entry_id=None, reason=None,
    )
    return fields, branch_path


async def record_deed(
    session: AsyncSession, *, member: Member, rule: Rule, occurred_on: date, description: str, evidence: list[str],
    recorded_by: str, source_kind: SourceKind, source_ref: str | None = None, source_event_id: str | None = None,
) -> Entry:
    """Append a deed's entry under `rule`; emit EntryRecorded. Raises 422 before writing anything."""
    branch_id, branch_path = branch_of(member.unit_path)
    # Lock first so the cap and frozen-month checks see every entry committed before ours.
    await lock_chain(session, branch_unit_id=branch_id, branch_path=branch_path)
    fields, branch_path = await _deed_fields(
        session, member=member, rule=rule, occurred_on=occurred_on, description=description, evidence=evidence,
        recorded_by=recorded_by, source_kind=source_kind, source_ref=source_ref, source_event_id=source_event_id,
    )
    entry = await _append(session, fields=fields, branch_path=branch_path)
    emit(
        session,
        EntryRecorded(
            entry_id=entry.id, member_id=entry.member_id, person_id=entry.person_id, branch_unit_id=entry.branch_unit_id,
            unit_path=entry.unit_path, rule_id=entry.rule_id, rule_code=entry.rule_code, category=entry.category.value,
            points=entry.points, occurred_on=entry.occurred_on, period=entry.period, source_kind=entry.source_kind.value,
            source_ref=entry.source_ref, entry_hash=entry.hash,
        ),
    )
    return entry


async def record_entry(session: AsyncSession, *, identity: Identity, data: EntryCreate) -> Entry:
    """Record a deed by hand for a member in the caller's scope."""
    require_branch_manager(identity)
    member = await get_member(session, identity=identity, member_id=data.member_id)
    rule = await session.get(Rule, data.rule_id)
    if rule is None:
        raise unprocessable("no such rule", code="unknown_rule", loc=["body", "rule_id"])
    return await record_deed(
        session, member=member, rule=rule, occurred_on=data.occurred_on, description=data.description,
        evidence=data.evidence, recorded_by=identity.subject, source_kind=SourceKind.MANUAL,
    )


async def get_entry(session: AsyncSession, *, identity: Identity, entry_id: str) -> Entry:
    """An entry in the caller's scope, else 404."""
    entry = await session.get(Entry, entry_id)
    if entry is None or not path_in_scope(entry.unit_path, identity, await grid.scope_path(session, identity)):
        raise not_found("entry")
    return entry


async def append_reversal(
    session: AsyncSession, *, original: Entry, reason: str, recorded_by: str, source_kind: SourceKind,
    source_ref: str | None = None, allow_open_period: bool = False,
) -> Entry:
    """Append the entry that cancels `original`; emit EntryReversed.

    It lands in the original's month unless that month is on notice (or frozen): then in a
    later one, naming the original. An upheld objection may still write into its open notice.
    """
    _, branch_path = branch_of(original.unit_path)
    await lock_chain(session, branch_unit_id=original.branch_unit_id, branch_path=branch_path)
    if original.reverses_entry_id is not None:
        raise unprocessable("a reversal cannot itself be reversed; record a new entry instead", code="cannot_reverse_reversal")
    already = await session.scalar(select(Entry.id).where(Entry.reverses_entry_id == original.id))
    if already is not None:
        raise conflict(f"entry {original.id} was already reversed by {already}", code="already_reversed")
    period = await writable_period(
        session, branch_unit_id=original.branch_unit_id, period=original.period, allow_open=allow_open_period
    )
    fields = dict(
        branch_unit_id=original.branch_unit_id, unit_path=original.unit_path, town_unit_id=original.town_unit_id,
        member_id=original.member_id, person_id=original.person_id, member_name=original.member_name,
        rule_id=original.rule_id, rule_code=original.rule_code, rule_name=original.rule_name, category=original.category,
        points=-original.points, occurred_on=original.occurred_on, period=period,
        original_period=original.period if period != original.period else None,
        description=f"冲正: {original.description}"[:500], evidence=[], recorded_by=recorded_by, source_kind=source_kind,
        source_ref=source_ref or original.id, source_event_id=None, reverses_entry_id=original.id, reason=reason,
    )
    entry = await _append(session, fields=fields, branch_path=branch_path)
    emit(
        session,
        EntryReversed(
            entry_id=entry.id, reverses_entry_id=original.id, member_id=entry.member_id, branch_unit_id=entry.branch_unit_id,
            unit_path=entry.unit_path, points=entry.points, period=entry.period, reason=reason, entry_hash=entry.hash,
        ),
    )
    return entry


async def reverse_entry(session: AsyncSession, *, identity: Identity, entry_id: str, reason: str) -> Entry:
    """Correct an entry by appending its reversal (the original stays as it was)."""
    require_branch_manager(identity)
    original = await get_entry(session, identity=identity, entry_id=entry_id)
    return await append_reversal(
        session, original=original, reason=reason, recorded_by=identity.subject, source_kind=SourceKind.REVERSAL
    )


def list_entries_query(
    *, identity: Identity, scope_path: str | None, under_path: str | None, member_id: str | None,
    branch_unit_id: str | None, period: str | None, category: Category | None, source_kind: SourceKind | None,
) -> Select:
    """Entries in scope, newest first (ids are time-ordered)."""
    statement = select(Entry).where(scope_condition(Entry.unit_path, identity, scope_path))
    if under_path is not None:
        statement = statement.where(in_subtree(Entry.unit_path, under_path))
    if member_id is not None:
        statement = statement.where(Entry.member_id == member_id)
    if branch_unit_id is not None:
        statement = statement.where(Entry.branch_unit_id == branch_unit_id)
    if period is not None:
        statement = statement.where(Entry.period == period)
    if category is not None:
        statement = statement.where(Entry.category == category)
    if source_kind is not None:
        statement = statement.where(Entry.source_kind == source_kind)
    return statement.order_by(Entry.id.desc())


async def verify_branch(session: AsyncSession, *, branch_unit_id: str) -> ChainReport:
    """Re-walk one branch's chain from its first entry; report the first link that does not hold."""
    head = await session.get(ChainHead, branch_unit_id)
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    result = await session.stream_scalars(
        select(Entry).where(Entry.branch_unit_id == branch_unit_id).order_by(Entry.branch_seq).execution_options(yield_per=500)
    )
    async for entry in result:
        checked += 1
        broken = None
        if entry.branch_seq != expected_seq:
            broken = "sequence_gap"
        elif entry.prev_hash != expected_prev:
            broken = "prev_hash_mismatch"
        elif entry_hash(entry.model_dump(), entry.prev_hash) != entry.hash:
            broken = "hash_mismatch"
        if broken:
            await result.close()
            return ChainReport(
                branch_unit_id=branch_unit_id, entries_checked=checked, ok=False,
                first_broken=BrokenLink(entry_id=entry.id, branch_seq=expected_seq, reason=broken),
            )
        expected_prev, expected_seq = entry.hash, expected_seq + 1
    if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != expected_prev):
        # Entries were removed from the end, or the head was moved: the chain lost its tail.
        return ChainReport(
            branch_unit_id=branch_unit_id, entries_checked=checked, ok=False,
            first_broken=BrokenLink(entry_id=None, branch_seq=expected_seq, reason="head_mismatch"),
        )
    return ChainReport(branch_unit_id=branch_unit_id, entries_checked=checked, ok=True)


async def verify_chains(session: AsyncSession, *, identity: Identity | None, branch_unit_id: str | None = None) -> VerifyReport:
    """Re-walk every branch chain in scope (all of them for the CLI, which runs without identity)."""
    statement = select(ChainHead.branch_unit_id).order_by(ChainHead.branch_unit_id)
    if identity is not None:
        require_auditor(identity)
        statement = statement.where(scope_condition(ChainHead.branch_path, identity, await grid.scope_path(session, identity)))
    if branch_unit_id is not None:
        statement = statement.where(ChainHead.branch_unit_id == branch_unit_id)
    branches = (await session.execute(statement)).scalars().all()
    reports = [await verify_branch(session, branch_unit_id=b) for b in branches]
    return VerifyReport(ok=all(r.ok for r in reports), branches=reports)
