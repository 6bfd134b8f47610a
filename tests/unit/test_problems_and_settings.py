"""Problem details, language negotiation and production safety of settings."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from gateway.settings import GatewaySettings
from shared.problems import Problem, install_problem_handlers
from shared.settings import ServiceSettings


class Body(BaseModel):
    count: int


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def make(body: Body) -> dict:
        raise Problem(409, "conflict", "already there")

    @app.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("unexpected")

    return app


@pytest.mark.parametrize(
    ("accept_language", "title"),
    [(None, "与当前状态冲突"), ("en", "Conflict with the current state"), ("zh-CN,en;q=0.5", "与当前状态冲突"), ("zh;q=0.2, en-US;q=0.9", "Conflict with the current state")],
)
async def test_problem_titles_follow_accept_language(accept_language, title):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        response = await client.post("/things", json={"count": 1}, headers=headers)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "conflict" and body["title"] == title and body["detail"] == "already there"


async def test_validation_errors_name_the_field_and_unexpected_errors_are_500_problems():
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        invalid = await client.post("/things", json={"count": "many"})
        missing = await client.get("/nowhere")
        boom = await client.get("/boom")
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == ["body", "count"]
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert boom.status_code == 500 and boom.json()["code"] == "internal_error"
    assert "unexpected" not in boom.text


def test_production_refuses_dev_secrets():
    with pytest.raises(ValidationError, match="IDENTITY_SECRET"):
        ServiceSettings(environment="prod")
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        GatewaySettings(environment="prod", identity_secret="x" * 40)
    with pytest.raises(ValidationError, match="BOOTSTRAP_ADMIN_PASSWORD"):
        GatewaySettings(environment="prod", identity_secret="x" * 40, jwt_secret="y" * 40)
    settings = GatewaySettings(environment="prod", identity_secret="x" * 40, jwt_secret="y" * 40, bootstrap_admin_password="a-strong-one")
    assert settings.environment == "prod"


def test_a_read_pool_without_connections_is_refused():
    # Hot reads wait their turn for one of the read pool's connections: with none, every read would wait for ever.
    with pytest.raises(ValidationError, match="database_read_pool_size"):
        ServiceSettings(database_read_pool_size=0)
    assert ServiceSettings(database_read_pool_size=1).database_read_pool_size == 1


def test_only_locked_or_unreachable_databases_count_as_transient():
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from shared.problems import is_transient_database_error

    assert is_transient_database_error(OperationalError("INSERT", {}, Exception("database is locked")))
    assert is_transient_database_error(OperationalError("SELECT", {}, ConnectionRefusedError("Connection refused")))
    assert not is_transient_database_error(OperationalError("INSERT", {}, Exception("table units has no column named x")))
    assert not is_transient_database_error(ProgrammingError("SELECT", {}, Exception("syntax error")))
