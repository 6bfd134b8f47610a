"""Ledger use cases: append entries to a branch's chain, reverse them, verify the chains.

Every write takes the branch's chain-head row first (SELECT … FOR UPDATE on PostgreSQL;
SQLite has one writer at a time anyway), so two writers of one branch never fork its chain,
and caps and frozen months are checked under the same lock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache

from sqlalchemy import bindparam, func, insert, select, update
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
    EntryBrief,
    EntryCreate,
    EntryPublic,
    EntryTally,
    SourceKind,
    VerifyReport,
)
from points_svc.members.models import Member
from points_svc.members.service import get_member
from points_svc.notices.models import Notice, NoticeStatus
from points_svc.rules.models import Category, Rule
from points_svc.tree import branch_of
from shared.database import Database, accumulate, dialect_insert
from shared.events.points import EntryRecorded, EntryReversed
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import next_period, period_of, today
from shared.outbox import emit
from shared.pagination import Page, PagedQuery, PageParams, page_of
from shared.problems import Problem, conflict, not_found, unprocessable
from shared.scope import Place, in_named_subtree, list_place, path_in_scope, scope_condition


async def lock_chain(session: AsyncSession, *, branch_unit_id: str, branch_path: str) -> tuple[int, str]:
    """Take the branch's chain head for this transaction; return (last sequence, last hash)."""
    insert = dialect_insert(session)
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
    return period_after_notices(states, period, allow_open=allow_open)


def period_after_notices(states: dict[str, NoticeStatus], period: str, *, allow_open: bool = False) -> str:
    """`period`, or the first later month without a notice in `states` (the branch's notices by month)."""
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
    """Link the entry to its branch's chain, store it, move the head, and keep the totals."""
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
    await _keep_totals(session, [fields])
    return entry


async def _keep_totals(session: AsyncSession, entries: list[dict]) -> None:
    """Add appended entries to their members' balances and their units' tallies (in key order, so two
    writers never wait on each other's rows in a circle)."""
    balances: dict[tuple[str, str], list[int]] = {}
    tallies: dict[tuple[str, str], list] = {}
    for fields in entries:
        balance = balances.setdefault((fields["member_id"], fields["period"]), [0, 0])
        balance[0] += fields["points"]
        balance[1] += 1
        tallies.setdefault((fields["unit_path"], fields["period"]), [fields["town_unit_id"], 0])[1] += 1
    await accumulate(
        session,
        Balance.__table__,
        [{"member_id": m, "period": p, "points": points, "entries": count} for (m, p), (points, count) in sorted(balances.items())],
        key=["member_id", "period"],
        add=["points", "entries"],
    )
    await accumulate(
        session,
        EntryTally.__table__,
        [{"unit_path": u, "period": p, "town_unit_id": town, "entries": count} for (u, p), (town, count) in sorted(tallies.items())],
        key=["unit_path", "period"],
        add=["entries"],
    )


def check_deed(*, member: Member, rule: Rule, occurred_on: date, evidence: list[str]) -> None:
    """Check a deed against its rule's town and dates, the member's leaving and the evidence; 422 when it does not fit."""
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


def check_cap(*, member: Member, rule: Rule, period: str, total: int) -> None:
    """422 `monthly_cap_exceeded` when one more entry of `rule` would take the member's `total` in `period` past its cap."""
    if rule.monthly_cap is not None and abs(total + rule.points) > rule.monthly_cap:
        raise Problem(
            422,
            "monthly_cap_exceeded",
            f"rule {rule.code} caps a member at {rule.monthly_cap} points per month; "
            f"{member.name} has {total} in {period} and this entry ({rule.points:+d}) would exceed it",
            errors=[{"loc": ["body", "rule_id"], "msg": f"monthly cap {rule.monthly_cap} of rule {rule.code}", "type": "monthly_cap_exceeded"}],
        )


def deed_fields(
    *, member: Member, rule: Rule, occurred_on: date, period: str, description: str, evidence: list[str],
    recorded_by: str, source_kind: SourceKind, source_ref: str | None, source_event_id: str | None,
) -> dict:
    """The fields of a checked deed's entry in `period` (the chain fields are added when it is appended)."""
    occurred_period = period_of(occurred_on)
    return dict(
        branch_unit_id=branch_of(member.unit_path)[0], unit_path=member.unit_path, town_unit_id=member.town_unit_id,
        member_id=member.id, person_id=member.person_id, member_name=member.name, rule_id=rule.id, rule_code=rule.code,
        rule_name=rule.name, category=rule.category, points=rule.points, occurred_on=occurred_on, period=period,
        original_period=occurred_period if period != occurred_period else None, description=description, evidence=evidence,
        recorded_by=recorded_by, source_kind=source_kind, source_ref=source_ref, source_event_id=source_event_id,
        reverses_entry_id=None, reason=None,
    )


async def _deed_fields(
    session: AsyncSession, *, member: Member, rule: Rule, occurred_on: date, description: str, evidence: list[str],
    recorded_by: str, source_kind: SourceKind, source_ref: str | None, source_event_id: str | None,
) -> tuple[dict, str]:
    """Check a deed against its rule (town, dates, evidence, cap) and build its fields; nothing is written."""
    check_deed(member=member, rule=rule, occurred_on=occurred_on, evidence=evidence)
    branch_id, branch_path = branch_of(member.unit_path)
    period = await writable_period(session, branch_unit_id=branch_id, period=period_of(occurred_on))
    if rule.monthly_cap is not None:
        total = await _member_rule_total(session, member_id=member.id, rule_id=rule.id, period=period)
        check_cap(member=member, rule=rule, period=period, total=total)
    fields = deed_fields(
        member=member, rule=rule, occurred_on=occurred_on, period=period, description=description, evidence=evidence,
        recorded_by=recorded_by, source_kind=source_kind, source_ref=source_ref, source_event_id=source_event_id,
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


async def record_entries(session: AsyncSession, *, identity: Identity, items: list[EntryCreate]) -> list[EntryBrief]:
    """Record many deeds by hand in one transaction, each checked as `record_entry` checks one.

    Every branch named is locked first (in a fixed order, so two batches never wait on each other in a
    circle); then each entry is checked in order, a monthly cap counting the batch's earlier entries as
    well as the stored ones. Any refusal rejects the whole batch: 422 `batch_rejected`, one error per
    refused entry (`loc` = body, entries, index, field). Accepted entries are appended to their branch's
    chain in order, balances kept, and EntryRecorded emitted for each, as one by one.
    """
    require_branch_manager(identity)
    scope_path = await grid.scope_path(session, identity)
    members = {
        m.id: m
        for chunk in _chunks(sorted({i.member_id for i in items}))
        for m in (await session.execute(select(Member).where(Member.id.in_(chunk)))).scalars()
    }
    rules = {
        r.id: r
        for chunk in _chunks(sorted({i.rule_id for i in items}))
        for r in (await session.execute(select(Rule).where(Rule.id.in_(chunk)))).scalars()
    }
    visible = {k: m for k, m in members.items() if path_in_scope(m.unit_path, identity, scope_path)}
    branches = dict(sorted(branch_of(m.unit_path) for m in visible.values()))
    heads = {b: await lock_chain(session, branch_unit_id=b, branch_path=path) for b, path in branches.items()}
    first = min((period_of(i.occurred_on) for i in items), default="0000-00")
    states: dict[str, dict[str, NoticeStatus]] = {b: {} for b in branches}
    for chunk in _chunks(list(branches)):
        notices = await session.execute(
            select(Notice.branch_unit_id, Notice.period, Notice.status).where(Notice.branch_unit_id.in_(chunk), Notice.period >= first)
        )
        for branch_id, period, status in notices.all():
            states[branch_id][period] = status
    totals = await _rule_totals(session, members=list(visible), rules=[r.id for r in rules.values() if r.monthly_cap is not None])
    accepted: list[tuple[dict, str]] = []
    errors: list[dict] = []
    for index, item in enumerate(items):
        try:
            member = visible.get(item.member_id)
            if member is None:
                raise not_found("member")
            rule = rules.get(item.rule_id)
            if rule is None:
                raise unprocessable("no such rule", code="unknown_rule", loc=["body", "rule_id"])
            check_deed(member=member, rule=rule, occurred_on=item.occurred_on, evidence=item.evidence)
            branch_id, branch_path = branch_of(member.unit_path)
            period = period_after_notices(states[branch_id], period_of(item.occurred_on))
            if rule.monthly_cap is not None:
                key = (member.id, rule.id, period)
                check_cap(member=member, rule=rule, period=period, total=totals.get(key, 0))
                totals[key] = totals.get(key, 0) + rule.points
            fields = deed_fields(
                member=member, rule=rule, occurred_on=item.occurred_on, period=period, description=item.description,
                evidence=item.evidence, recorded_by=identity.subject, source_kind=SourceKind.MANUAL, source_ref=None,
                source_event_id=None,
            )
            accepted.append((fields, branch_path))
        except Problem as problem:
            field = problem.errors[0]["loc"][-1:] if problem.errors and problem.errors[0].get("loc") else []
            errors.append({"loc": ["body", "entries", index, *field], "msg": problem.detail or problem.code, "type": problem.code})
    if errors:
        raise Problem(
            422, "batch_rejected", f"{len(errors)} of {len(items)} entries refused; nothing was recorded", errors=errors,
            title=("积分记录有误，均未记入", "Batch rejected; nothing was recorded"),
        )
    return await _append_many(session, accepted, heads)


def _chunks(keys: list[str], size: int = 500) -> list[list[str]]:
    return [keys[i : i + size] for i in range(0, len(keys), size)]


async def _rule_totals(session: AsyncSession, *, members: list[str], rules: list[str]) -> dict[tuple[str, str, str], int]:
    """Stored points per (member, capped rule, month), for the cap checks of a batch."""
    totals: dict[tuple[str, str, str], int] = {}
    if not rules:
        return totals
    for chunk in _chunks(members):
        rows = await session.execute(
            select(Entry.member_id, Entry.rule_id, Entry.period, func.sum(Entry.points))
            .where(Entry.member_id.in_(chunk), Entry.rule_id.in_(rules))
            .group_by(Entry.member_id, Entry.rule_id, Entry.period)
        )
        for member_id, rule_id, period, total in rows.all():
            totals[(member_id, rule_id, period)] = int(total or 0)
    return totals


async def _append_many(session: AsyncSession, accepted: list[tuple[dict, str]], heads: dict[str, tuple[int, str]]) -> list[EntryBrief]:
    """Link checked entries to their branches' chains in order, insert them in batches, move the heads, keep the totals."""
    rows: list[dict] = []
    for fields, _ in accepted:
        branch_id = fields["branch_unit_id"]
        last_seq, last_hash = heads[branch_id]
        fields = {**fields, "id": new_id(), "branch_seq": last_seq + 1, "created_at": datetime.now(UTC)}
        digest = entry_hash(fields, last_hash)
        rows.append({**fields, "prev_hash": last_hash, "hash": digest})
        heads[branch_id] = (last_seq + 1, digest)
    await session.execute(insert(Entry.__table__), rows)
    moment = datetime.now(UTC)
    touched = {row["branch_unit_id"] for row in rows}
    await session.execute(
        update(ChainHead.__table__)
        .where(ChainHead.__table__.c.branch_unit_id == bindparam("branch"))
        .values(last_seq=bindparam("seq"), last_hash=bindparam("digest"), updated_at=moment),
        [{"branch": b, "seq": heads[b][0], "digest": heads[b][1]} for b in sorted(touched)],
    )
    await _keep_totals(session, rows)
    for row in rows:
        emit(
            session,
            EntryRecorded(
                entry_id=row["id"], member_id=row["member_id"], person_id=row["person_id"], branch_unit_id=row["branch_unit_id"],
                unit_path=row["unit_path"], rule_id=row["rule_id"], rule_code=row["rule_code"], category=row["category"].value,
                points=row["points"], occurred_on=row["occurred_on"], period=row["period"], source_kind=row["source_kind"].value,
                source_ref=row["source_ref"], entry_hash=row["hash"],
            ),
        )
    return [EntryBrief(id=r["id"], branch_seq=r["branch_seq"], period=r["period"]) for r in rows]


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


@cache
def entries_page(
    *, within: Place, member: bool, branch: bool, periods: bool, category: bool, source_kind: bool
) -> PagedQuery:
    """The entry list of one filter shape, built once: rows of entries, newest first (ids are time-ordered).

    `within`: None (everywhere), "town" (bind `town_unit_id`: a town's entries, read newest first from their
    own index) or "subtree" (bind `subtree`, the root unit's path). Other binds: `member_id`,
    `branch_unit_id`, `periods` (a list), `category`, `source_kind`. Filtered by place and months only, the
    total is summed from the units' tallies; other filters count the entries themselves.
    """
    statement = select(Entry.__table__)
    count = select(func.coalesce(func.sum(EntryTally.entries), 0))
    if within == "town":
        statement = statement.where(Entry.town_unit_id == bindparam("town_unit_id"))
        count = count.where(EntryTally.town_unit_id == bindparam("town_unit_id"))
    elif within == "subtree":
        statement = statement.where(in_named_subtree(Entry.unit_path))
        count = count.where(in_named_subtree(EntryTally.unit_path))
    if periods:
        statement = statement.where(Entry.period.in_(bindparam("periods", expanding=True)))
        count = count.where(EntryTally.period.in_(bindparam("periods", expanding=True)))
    if member:
        statement = statement.where(Entry.member_id == bindparam("member_id"))
    if branch:
        statement = statement.where(Entry.branch_unit_id == bindparam("branch_unit_id"))
    if category:
        statement = statement.where(Entry.category == bindparam("category"))
    if source_kind:
        statement = statement.where(Entry.source_kind == bindparam("source_kind"))
    statement = statement.order_by(Entry.id.desc())
    count = count if not (member or branch or category or source_kind) else None
    if within == "town":
        # The page's ids come from the town's (town_unit_id, id) index alone: ordering whole rows, the planner
        # walks the primary key instead and filters every later entry it passes (a county's others, for an old town).
        return PagedQuery.by_keys(statement, Entry.id, count=count)
    return PagedQuery.of(statement, count=count)


async def list_entries(
    db: Database, *, page: PageParams, subtree: str | None, member_id: str | None = None, branch_unit_id: str | None = None,
    periods: list[str] | None = None, category: Category | None = None, source_kind: SourceKind | None = None,
) -> Page[EntryPublic]:
    """One page of the entries in the subtree at `subtree` (None: everywhere) with the given filters, newest first.

    A town's subtree is asked by the town's id, which every entry recorded under the town carries."""
    within, place = list_place(subtree)
    query = entries_page(
        within=within, member=member_id is not None, branch=branch_unit_id is not None, periods=bool(periods),
        category=category is not None, source_kind=source_kind is not None,
    )
    params = {
        **place, "member_id": member_id, "branch_unit_id": branch_unit_id, "periods": periods, "category": category, "source_kind": source_kind,
    }
    rows, total = await query.fetch(db, page, {name: value for name, value in params.items() if value is not None})
    return page_of(EntryPublic, rows, total, page)


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
