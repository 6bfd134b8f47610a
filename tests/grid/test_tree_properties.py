"""Property-based tests of tree operations through the HTTP API: moves never create cycles, the tallied level
counts always equal a brute-force recount of the tree after moves and retirements, and the households listed
under a unit are those of the micro grids below it."""

from __future__ import annotations

from collections import Counter

from grid.registry_builders import ADMIN, code, create_unit, register_household
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LEVELS = ["county", "town", "village", "grid", "small_grid", "micro_grid"]

# A tree shape: for each level below the county, how many children each unit gets (0–2, at least one town).
shapes = st.lists(st.integers(min_value=0, max_value=2), min_size=5, max_size=5).map(lambda fan: [max(fan[0], 1), *fan[1:]])
# (unit, target, aim): with aim the target is drawn among units of the level above, so most moves are legal
# and some of those still try to land under the unit's own subtree.
moves = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000), st.booleans()), min_size=1, max_size=8)


async def _build(client, fan_out: list[int]) -> tuple[dict, dict[str, dict]]:
    county = await create_unit(client, "county", None, "县")
    items, layer = [], [("root", None)]
    for depth, children in enumerate(fan_out, start=1):
        next_layer = []
        for parent_ref, _ in layer:
            for i in range(children):
                ref = f"{parent_ref}.{i}"
                item = {"ref": ref, "code": code(), "name": f"{LEVELS[depth]}{i}", "level": LEVELS[depth]}
                item |= {"parent_id": county["id"]} if parent_ref == "root" else {"parent_ref": parent_ref}
                items.append(item)
                next_layer.append((ref, item))
        layer = next_layer
    units = {county["id"]: county}
    if items:
        response = await client.post("/api/v1/grid/units:batch", json={"units": items}, headers=ADMIN)
        assert response.status_code == 201, response.text
        units |= {u["id"]: u for u in response.json()}
    return county, units


def _descendants(parents: dict[str, str | None], unit_id: str) -> set[str]:
    """Brute force: every unit whose parent chain reaches `unit_id` (walks the chains in Python)."""
    found = set()
    for candidate in parents:
        seen, node = set(), parents[candidate]
        while node is not None:
            assert node not in seen, "cycle in the tree"
            seen.add(node)
            if node == unit_id:
                found.add(candidate)
                break
            node = parents[node]
    return found


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fan_out=shapes, attempted=moves)
async def test_moves_and_retirements_keep_a_tree_and_counts_match_a_recount(grid, fan_out, attempted):
    client = grid.client
    county, units = await _build(client, fan_out)
    ids = list(units)
    parents = {u["id"]: u["parent_id"] for u in units.values()}
    levels = {u["id"]: u["level"] for u in units.values()}
    homes = {(await register_household(client, i))["id"]: i for i in ids if levels[i] == "micro_grid"}
    retired: set[str] = set()

    async def move(a: int, b: int, aim: bool) -> None:
        unit_id = ids[a % len(ids)]
        above = [i for i in ids if LEVELS.index(levels[i]) + 1 == LEVELS.index(levels[unit_id])]
        pool = above if aim and above else ids
        target_id = pool[b % len(pool)]
        response = await client.post(f"/api/v1/grid/units/{unit_id}/move", json={"parent_id": target_id}, headers=ADMIN)
        would_cycle = target_id == unit_id or target_id in _descendants(parents, unit_id)
        fits = LEVELS.index(levels[target_id]) + 1 == LEVELS.index(levels[unit_id])
        if parents[unit_id] is None or would_cycle or not fits or target_id in retired:
            assert response.status_code == 422, response.text
            if would_cycle and parents[unit_id] is not None:
                assert response.json()["code"] == "cycle"
        else:
            assert response.status_code == 200, response.text
            parents[unit_id] = target_id

    half = len(attempted) // 2
    for attempt in attempted[:half]:
        await move(*attempt)
    # Units with no children leave the counts when retired (micro grids hold a household each and stay); the
    # moves after carry retired units too.
    children = Counter(parents.values())
    for unit_id in ids:
        if parents[unit_id] is not None and not children[unit_id] and levels[unit_id] != "micro_grid":
            response = await client.post(f"/api/v1/grid/units/{unit_id}/retire", headers=ADMIN)
            assert response.status_code == 200, response.text
            retired.add(unit_id)
    for attempt in attempted[half:]:
        await move(*attempt)

    params = {"under": county["id"], "per_page": 200, "include_retired": "true"}
    listed = (await client.get("/api/v1/grid/units", params=params, headers=ADMIN)).json()
    served = {u["id"]: u for u in listed["items"]}
    assert set(served) == set(ids) - {county["id"]}
    for unit_id, unit in served.items():
        assert unit["parent_id"] == parents[unit_id]
        parent_path = county["path"] if parents[unit_id] == county["id"] else served[parents[unit_id]]["path"]
        assert unit["path"] == f"{parent_path}{unit_id}/"
    for unit_id in ids:
        expected = Counter(levels[d] for d in _descendants(parents, unit_id) - retired)
        counts = (await client.get(f"/api/v1/grid/units/{unit_id}/counts", headers=ADMIN)).json()
        assert {level: counts[level] for level in LEVELS} == {level: expected.get(level, 0) for level in LEVELS}
        below = _descendants(parents, unit_id) | {unit_id}
        households = (await client.get("/api/v1/grid/households", params={"under": unit_id, "per_page": 200}, headers=ADMIN)).json()
        assert {h["id"] for h in households["items"]} == {h for h, home in homes.items() if home in below}
        assert households["total"] == len(households["items"])
