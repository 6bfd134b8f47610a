"""Deeds reported by dispatch and legal as real Kafka events are credited once each."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from aiokafka import AIOKafkaConsumer

from harness import eventually, identity_headers
from shared.events import POINTS_TOPIC
from shared.events.dispatch import LectureHeld, OrderCompleted
from shared.events.grid import MemberLeft
from shared.events.legal import CaseConcluded, MediatorRef
from shared.events.points import EntryRecorded
from shared.ids import new_id


def admin() -> dict[str, str]:
    """Fresh platform-admin headers (identity tokens live a minute)."""
    return identity_headers()


def _order(world, person_id: str, *, party_member: bool = True, service_type: str = "red_cross_training") -> OrderCompleted:
    village = world.villages[0]
    return OrderCompleted(
        order_id=new_id(), number=f"YW-{uuid.uuid4().hex[:6]}", service_type_code=service_type, unit_id=village.id,
        unit_path=village.path, served_by_person_id=person_id, served_by_party_member=party_member,
        completed_at=datetime(2025, 5, 6, 2, 0, tzinfo=UTC), occurred_on=date(2025, 5, 6),
    )


async def _entries_of(client, member_id: str) -> list[dict]:
    return (await client.get("/api/v1/points/entries", params={"member_id": member_id}, headers=admin())).json()["items"]


async def _deeds(client, person_id: str) -> list[dict]:
    return (await client.get("/api/v1/points/deeds", params={"person_id": person_id}, headers=admin())).json()["items"]


async def test_order_completed_by_a_member_records_one_entry_even_if_delivered_three_times(world, stack):
    client = world.client
    rule = await world.rule("SVC", "service", 3, trigger="order_completed")
    member = await world.member(world.villages[0], "服务党员")
    event = _order(world, member["person_id"])
    event_id = await world.publisher.publish(event)
    for _ in range(2):
        await world.publisher.publish(event, event_id=event_id)
    consumer = next(c for c in stack.services["points"].runtime.consumers if c.name == "points-svc.deeds")

    async def three_seen():
        return await _deeds(client, member["person_id"]) and consumer.duplicates >= 2

    await eventually(three_seen)
    entries = await _entries_of(client, member["id"])
    assert len(entries) == 1
    entry = entries[0]
    assert entry["points"] == 3 and entry["rule_id"] == rule["id"] and entry["period"] == "2025-05"
    assert entry["source_kind"] == "order_completed" and entry["source_ref"] == event.order_id
    assert entry["source_event_id"] == event_id and entry["recorded_by"] == "points-svc.deeds"
    deeds = await _deeds(client, member["person_id"])
    assert [(d["status"], d["entry_id"]) for d in deeds] == [("credited", entry["id"])]


async def test_orders_served_by_non_members_or_without_person_score_nothing(world):
    client = world.client
    member = await world.member(world.villages[0], "非党员服务")
    await world.publisher.publish(_order(world, member["person_id"], party_member=False))
    marker = await world.member(world.villages[0], "标记")
    await world.publisher.publish(_order(world, marker["person_id"]))
    # Events of one partition are handled in order: once the later deed is in, the earlier was seen.
    await eventually(lambda: _entries_of(client, marker["id"]))
    assert await _entries_of(client, member["id"]) == []
    assert await _deeds(client, member["person_id"]) == []


async def test_lecture_credits_each_member_lecturer_and_a_rule_with_a_filter_wins(world):
    client = world.client
    await world.rule("LEC", "lecture", 2, trigger="lecture_held")
    a = await world.member(world.villages[0], "讲师甲")
    b = await world.member(world.villages[1], "讲师乙")
    lecture = LectureHeld(
        lecture_id=new_id(), unit_id=world.villages[0].id, unit_path=world.villages[0].path, theme="防范电信诈骗",
        held_on=date(2025, 6, 3), lecturer_person_ids=[a["person_id"], b["person_id"], a["person_id"]], attendees=40,
    )
    await world.publisher.publish(lecture)

    async def both():
        return len(await _entries_of(client, a["id"])) == 1 and len(await _entries_of(client, b["id"])) == 1

    await eventually(both)
    entry_b = (await _entries_of(client, b["id"]))[0]
    assert entry_b["branch_unit_id"] == world.villages[1].id and entry_b["source_ref"] == lecture.lecture_id
    assert "防范电信诈骗" in entry_b["description"]


async def test_mediation_credits_party_member_mediators_only(world):
    client = world.client
    await world.rule("MEDALL", "dispute_mediation", 4, trigger="mediation_concluded")
    specific = await world.rule("MEDLAND", "dispute_mediation", 6, trigger="mediation_concluded", trigger_filter="land")
    mediator = await world.member(world.villages[1], "调解党员")
    case = CaseConcluded(
        case_id=new_id(), number="禹王调〔2025〕12号", category="land", unit_id=world.villages[1].id,
        unit_path=world.villages[1].path, outcome="agreed", concluded_on=date(2025, 7, 1), recovered_fen=500000,
        mediators=[
            MediatorRef(person_id=mediator["person_id"], name="调解党员", affiliation="village", party_member=True),
            MediatorRef(person_id=new_id(), name="民警", affiliation="police", party_member=False),
        ],
    )
    await world.publisher.publish(case)
    entries = await eventually(lambda: _entries_of(client, mediator["id"]))
    assert len(entries) == 1 and entries[0]["rule_id"] == specific["id"] and entries[0]["points"] == 6


async def test_deed_arriving_before_the_member_is_credited_when_the_member_joins(world):
    client = world.client
    person_id = new_id()
    event = _order(world, person_id, service_type="drum_training")
    await world.publisher.publish(event)

    async def waiting():
        deeds = await _deeds(client, person_id)
        return deeds and deeds[0]["status"] == "waiting_member"

    await eventually(waiting)
    member = await world.member(world.villages[0], "后到党员", person_id=person_id)

    async def credited():
        deeds = await _deeds(client, person_id)
        return deeds[0]["status"] == "credited"

    await eventually(credited)
    entries = await _entries_of(client, member["id"])
    assert len(entries) == 1 and entries[0]["source_ref"] == event.order_id and entries[0]["occurred_on"] == "2025-05-06"


async def test_deed_over_the_cap_is_kept_as_rejected_and_a_left_member_is_not_credited(world):
    client = world.client
    village = await world.unit("village", world.town, "封顶村")
    member = await world.member(village, "封顶党员")
    # The order rule of this module gives 3 points; a capped one for this service type wins.
    await world.rule("SVCCAP", "service", 3, trigger="order_completed", trigger_filter="capped_service", monthly_cap=3)
    for _ in range(2):
        await world.publisher.publish(_order(world, member["person_id"], service_type="capped_service"))

    async def both_seen():
        return len(await _deeds(client, member["person_id"])) == 2

    await eventually(both_seen)
    statuses = sorted(d["status"] for d in await _deeds(client, member["person_id"]))
    assert statuses == ["credited", "rejected"]
    rejected = next(d for d in await _deeds(client, member["person_id"]) if d["status"] == "rejected")
    assert rejected["detail"].startswith("monthly_cap_exceeded")
    assert len(await _entries_of(client, member["id"])) == 1

    await world.publisher.publish(MemberLeft(member_id=member["id"], person_id=member["person_id"], left_on=date(2025, 1, 1)))

    async def left():
        return (await client.get(f"/api/v1/points/members/{member['id']}", headers=admin())).json()["left_on"] == "2025-01-01"

    await eventually(left)
    await world.publisher.publish(_order(world, member["person_id"]))

    async def three_seen():
        return len(await _deeds(client, member["person_id"])) == 3

    await eventually(three_seen)
    newest = (await _deeds(client, member["person_id"]))[0]
    assert newest["status"] == "waiting_member"


async def test_recorded_entries_are_published_on_points_events(world, broker):
    client = world.client
    member = await world.member(world.villages[1], "事件党员")
    rule = await world.rule("PUB", "service", 1)
    created = await client.post(
        "/api/v1/points/entries",
        json={"member_id": member["id"], "rule_id": rule["id"], "occurred_on": "2025-02-02", "description": "帮扶"},
        headers=admin(),
    )
    entry = created.json()
    consumer = AIOKafkaConsumer(
        POINTS_TOPIC, bootstrap_servers=broker.bootstrap_servers, group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest", session_timeout_ms=6000, fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        async def find():
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.key == entry["id"].encode():
                        return record
            return None

        record = await eventually(find)
    finally:
        await consumer.stop()
    headers = dict(record.headers)
    assert headers["ce_type"] == EntryRecorded.event_type.encode() and headers["ce_source"] == b"/points-svc"
    body = EntryRecorded.model_validate_json(record.value)
    assert body.member_id == member["id"] and body.points == 1 and body.entry_hash == entry["hash"]
