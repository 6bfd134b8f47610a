"""Apps hold their routers' routes in one flat list, each route documenting the problem responses."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from shared.routing import add_routers, api_router


def _router(factory, prefix: str) -> APIRouter:  # noqa: ANN001 - api_router or APIRouter
    router = factory(prefix=prefix, tags=["things"])

    @router.get("/{thing_id}", summary="Read a thing")
    async def read_thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id, "router": prefix}

    return router


async def test_routes_join_the_app_list_in_order_and_answer():
    first, second = _router(api_router, "/api/v1/a"), _router(api_router, "/api/v1/b")
    app = FastAPI()
    add_routers(app, [first, second])
    # The route objects themselves, not a router node to walk on every request.
    assert app.router.routes[-2:] == [*first.routes, *second.routes]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        assert (await client.get("/api/v1/b/7")).json() == {"id": "7", "router": "/api/v1/b"}
        assert (await client.get("/api/v1/c/7")).status_code == 404
    operation = app.openapi()["paths"]["/api/v1/a/{thing_id}"]["get"]
    assert {"4XX", "5XX"} <= operation["responses"].keys() and "200" in operation["responses"]
    assert "application/problem+json" in operation["responses"]["4XX"]["content"]


def test_a_router_without_the_problem_responses_is_refused():
    with pytest.raises(ValueError, match="build its router with api_router"):
        add_routers(FastAPI(), [_router(APIRouter, "/api/v1/a")])


def test_a_router_keeps_its_own_responses_beside_the_problems():
    router = api_router(prefix="/x", responses={409: {"description": "taken"}})

    @router.post("")
    async def make() -> None:
        return None

    assert {"4XX", "5XX", 409} <= router.routes[0].responses.keys()
