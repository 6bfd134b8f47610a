"""Open311 GeoReport v2 over the same orders, in JSON and XML, with the spec's names, statuses and errors."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from dispatch.world import ADMIN, known, staff

from harness import eventually
from shared.events.dispatch import OrderSubmitted
from shared.identity import Role

V2 = "/open311/v2"
BASE = "/api/v1/dispatch"


@pytest.fixture(scope="module")
async def world(client, feed, tree, clock) -> dict:
    """A service with a list attribute, a plain one, and a household in micro grid A1."""
    clock.set(datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    code = f"road{uuid.uuid4().hex[:6]}"
    road = await client.post(
        f"{BASE}/service-types",
        json={"code": code, "name": "道路修补", "category": "repairs", "description": "村道坑洼修补",
              "attributes": [
                  {"code": "size", "description": "坑洼大小", "datatype": "singlevaluelist", "required": True,
                   "values": [{"key": "small", "name": "小"}, {"key": "large", "name": "大"}]},
                  {"code": "hazards", "description": "隐患", "datatype": "multivaluelist",
                   "values": [{"key": "night", "name": "夜间看不清"}, {"key": "water", "name": "积水"}]},
              ]},
        headers=ADMIN,
    )
    assert road.status_code == 201, road.text
    plain = await client.post(f"{BASE}/service-types", json={"code": f"care{uuid.uuid4().hex[:6]}", "name": "助老服务", "category": "elderly_care"}, headers=ADMIN)
    assert plain.status_code == 201
    household = await feed.household(tree.micro_a1, "禹王村2组5号")
    await eventually(lambda: known(client, f"{BASE}/roster/households/{household}"))
    return {"road": road.json(), "plain": plain.json(), "household": household}


def _xml(response) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml"), response.headers["content-type"]
    return ET.fromstring(response.content)


async def test_discovery_and_services_in_both_formats(client, world):
    discovery = await client.get(f"{V2}/discovery.json")
    assert discovery.status_code == 200
    endpoint = discovery.json()["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    root = _xml(await client.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == ["application/json", "text/xml"]

    services = (await client.get(f"{V2}/services.json")).json()
    road = next(s for s in services if s["service_code"] == world["road"]["code"])
    assert road == {"service_code": world["road"]["code"], "service_name": "道路修补", "description": "村道坑洼修补", "metadata": True,
                    "type": "realtime", "keywords": "repairs", "group": "维修"}
    assert next(s for s in services if s["service_code"] == world["plain"]["code"])["metadata"] is False
    root = _xml(await client.get(f"{V2}/services.xml"))
    assert root.tag == "services"
    element = next(s for s in root.findall("service") if s.findtext("service_code") == world["road"]["code"])
    assert element.findtext("metadata") == "true" and element.findtext("service_name") == "道路修补"

    definition = (await client.get(f"{V2}/services/{world['road']['code']}.json")).json()
    assert definition["service_code"] == world["road"]["code"]
    size = definition["attributes"][0]
    assert size["variable"] is True and size["code"] == "size" and size["datatype"] == "singlevaluelist" and size["required"] is True
    assert size["order"] == 1 and size["values"] == [{"key": "small", "name": "小"}, {"key": "large", "name": "大"}]
    root = _xml(await client.get(f"{V2}/services/{world['road']['code']}.xml"))
    assert root.tag == "service_definition"
    attribute = root.find("attributes/attribute")
    assert attribute.findtext("code") == "size" and attribute.findtext("required") == "true"
    assert [v.findtext("key") for v in attribute.find("values")] == ["small", "large"]

    missing = await client.get(f"{V2}/services/nothing.json")
    assert missing.status_code == 404
    assert missing.json() == [{"code": 404, "description": "service_code nothing not found"}]
    missing_xml = await client.get(f"{V2}/services/nothing.xml")
    assert missing_xml.status_code == 404
    error = _xml(missing_xml)
    assert error.tag == "errors" and error.findtext("error/code") == "404"
    assert (await client.get(f"{V2}/services.yaml")).status_code == 404


async def test_post_form_encoded_then_read_back_in_both_formats(client, world, tree, tap, clock):
    clock.set(datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    worker = staff(Role.GRID_WORKER, tree.village_a)
    form = {
        "api_key": "ignored-here", "service_code": world["road"]["code"], "address_id": world["household"],
        "description": "门口有个大坑", "first_name": "大娘", "last_name": "王", "phone": "13812345678",
        "attribute[size]": "large", "attribute[hazards][]": ["night", "water"], "account_id": "acc-1",
        "media_url": "https://example.org/p.jpg",
    }
    created = await client.post(f"{V2}/requests.json", data=form, headers=worker)
    assert created.status_code == 201, created.text
    (answer,) = created.json()
    request_id, token = answer["service_request_id"], answer["token"]
    assert answer["account_id"] == "acc-1" and answer["service_notice"]

    order = (await client.get(f"{BASE}/orders/{request_id}", headers=ADMIN)).json()
    assert order["channel"] == "open311" and order["unit_id"] == tree.micro_a1.id and order["household_id"] == world["household"]
    assert order["attributes"] == {"size": "large", "hazards": ["night", "water"]}
    assert order["requester_name"] == "王 大娘"
    await tap.wait_for(OrderSubmitted, lambda e: e.order_id == request_id and e.channel == "open311")

    (one,) = (await client.get(f"{V2}/requests/{request_id}.json", headers=worker)).json()
    assert one["service_request_id"] == request_id and one["status"] == "open" and one["service_code"] == world["road"]["code"]
    assert one["service_name"] == "道路修补" and one["address"] == "禹王村2组5号" and one["address_id"] == world["household"]
    assert one["requested_datetime"] == "2026-04-01T10:00:00+08:00"
    assert one["media_url"] == "https://example.org/p.jpg"
    assert set(one) == {"service_request_id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible",
                        "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address", "address_id",
                        "zipcode", "lat", "long", "media_url"}
    root = _xml(await client.get(f"{V2}/requests/{request_id}.xml", headers=worker))
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == request_id
    assert root.findtext("request/status") == "open"

    assert (await client.get(f"{V2}/tokens/{token}.json", headers=worker)).json() == [{"service_request_id": request_id, "token": token}]
    token_xml = _xml(await client.get(f"{V2}/tokens/{token}.xml", headers=worker))
    assert token_xml.findtext("request/token") == token
    assert (await client.get(f"{V2}/tokens/unknown.json", headers=worker)).status_code == 404

    # Closing the order through the platform shows as closed in GeoReport.
    await client.post(f"{BASE}/orders/{request_id}/reject", json={"reason": "归公路部门管理"}, headers=ADMIN)
    (closed,) = (await client.get(f"{V2}/requests/{request_id}.json", headers=worker)).json()
    assert closed["status"] == "closed" and closed["status_notes"] == "归公路部门管理"

    xml_post = await client.post(
        f"{V2}/requests.xml", data={"service_code": world["plain"]["code"], "lat": "35.14", "long": "111.22", "description": "帮忙买药"}, headers=worker
    )
    assert xml_post.status_code == 201, xml_post.text
    posted = _xml(xml_post)
    new_id = posted.findtext("request/service_request_id")
    placed = (await client.get(f"{BASE}/orders/{new_id}", headers=ADMIN)).json()
    assert placed["unit_id"] == tree.village_a.id  # no household: the caller's own unit
    assert placed["lat"] == 35.14 and placed["lng"] == 111.22


async def test_query_filters_and_errors(client, world, tree, clock):
    worker = staff(Role.GRID_WORKER, tree.village_a)
    clock.set(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))
    made = []
    for jurisdiction in (tree.micro_a2.id, tree.micro_a2.id):
        response = await client.post(
            f"{V2}/requests.json",
            data={"service_code": world["plain"]["code"], "address_string": "二组", "jurisdiction_id": jurisdiction},
            headers=worker,
        )
        assert response.status_code == 201, response.text
        made.append(response.json()[0]["service_request_id"])
    await client.post(f"{BASE}/orders/{made[1]}/cancel", json={"reason": "重复"}, headers=ADMIN)

    by_ids = (await client.get(f"{V2}/requests.json", params={"service_request_id": ",".join(made)}, headers=worker)).json()
    assert {r["service_request_id"] for r in by_ids} == set(made)
    open_only = (await client.get(f"{V2}/requests.json", params={"jurisdiction_id": tree.micro_a2.id, "status": "open"}, headers=worker)).json()
    assert [r["service_request_id"] for r in open_only] == [made[0]]
    closed_only = (await client.get(f"{V2}/requests.json", params={"jurisdiction_id": tree.micro_a2.id, "status": "closed"}, headers=worker)).json()
    assert [r["service_request_id"] for r in closed_only] == [made[1]]
    by_code = (await client.get(f"{V2}/requests.json", params={"service_code": world["road"]["code"]}, headers=worker)).json()
    assert by_code and all(r["service_code"] == world["road"]["code"] for r in by_code)
    window = (await client.get(
        f"{V2}/requests.json", params={"start_date": "2026-04-10T00:00:00+08:00", "end_date": "2026-04-10T23:59:59+08:00"}, headers=worker
    )).json()
    assert {r["service_request_id"] for r in window} == set(made)
    later = (await client.get(f"{V2}/requests.json", params={"start_date": "2026-04-11T00:00:00+08:00"}, headers=worker)).json()
    assert later == []
    # Without start_date the last 90 days are returned: April's requests are gone by August.
    clock.set(datetime(2026, 8, 1, 2, 0, tzinfo=UTC))
    assert (await client.get(f"{V2}/requests.json", headers=worker)).json() == []
    clock.set(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))
    listed_xml = _xml(await client.get(f"{V2}/requests.xml", params={"jurisdiction_id": tree.micro_a2.id}, headers=worker))
    assert {r.findtext("service_request_id") for r in listed_xml.findall("request")} == set(made)

    # Scope: another village's staff neither list nor read these.
    other = staff(Role.GRID_WORKER, tree.village_b)
    assert (await client.get(f"{V2}/requests.json", params={"service_request_id": made[0]}, headers=other)).json() == []
    hidden = await client.get(f"{V2}/requests/{made[0]}.json", headers=other)
    assert hidden.status_code == 404 and hidden.json()[0]["code"] == 404

    bad_date = await client.get(f"{V2}/requests.json", params={"start_date": "yesterday"}, headers=worker)
    assert bad_date.status_code == 400 and "start_date" in bad_date.json()[0]["description"]
    bad_status = await client.get(f"{V2}/requests.xml", params={"status": "pending"}, headers=worker)
    assert bad_status.status_code == 400 and _xml(bad_status).findtext("error/code") == "400"
    anonymous = await client.get(f"{V2}/requests.json")
    assert anonymous.status_code == 401 and anonymous.json()[0]["code"] == 401
    no_code = await client.post(f"{V2}/requests.json", data={"lat": "35", "long": "111"}, headers=worker)
    assert no_code.status_code == 400 and no_code.json() == [{"code": 400, "description": "service_code is required"}]
    no_place = await client.post(f"{V2}/requests.json", data={"service_code": world["plain"]["code"]}, headers=worker)
    assert no_place.status_code == 400
    unknown = await client.post(f"{V2}/requests.xml", data={"service_code": "nothing", "lat": "35", "long": "111"}, headers=worker)
    assert unknown.status_code == 404 and _xml(unknown).findtext("error/code") == "404"
    missing_attribute = await client.post(
        f"{V2}/requests.json", data={"service_code": world["road"]["code"], "address_id": world["household"]}, headers=worker
    )
    assert missing_attribute.status_code == 400 and "size" in missing_attribute.json()[0]["description"]
    bad_phone = await client.post(
        f"{V2}/requests.json", data={"service_code": world["plain"]["code"], "lat": "35", "long": "111", "phone": "call me"}, headers=worker
    )
    assert bad_phone.status_code == 400
    read_only = staff(Role.SYSTEM, tree.county, rights={"dispatch": "read"})
    refused = await client.post(f"{V2}/requests.json", data={"service_code": world["plain"]["code"], "lat": "35", "long": "111"}, headers=read_only)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403
