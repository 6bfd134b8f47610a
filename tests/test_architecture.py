"""Boundaries a machine checks: services never import each other; the compose file is valid."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_services_never_import_each_other():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


def test_compose_file_is_valid():
    compose = shutil.which("docker-compose")
    if compose is None:
        if os.environ.get("REQUIRE_COMPOSE_CHECK") == "1":
            pytest.fail("docker-compose is required for the compose check (REQUIRE_COMPOSE_CHECK=1)")
        pytest.skip("docker-compose not installed; `.ci/run` installs it")
    result = subprocess.run([compose, "-f", "docker-compose.yml", "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_service_has_the_same_inner_shape():
    expected = {"main.py", "settings.py", "db.py", "models.py", "__main__.py", "migrations"}
    for service in sorted((ROOT / "services").iterdir()):
        packages = [p for p in (service / "src").iterdir() if p.is_dir() and not p.name.endswith(".egg-info")]
        assert len(packages) == 1, service
        present = {p.name for p in packages[0].iterdir()}
        assert expected <= present, f"{service.name} lacks {expected - present}"
        if service.name != "gateway":  # the gateway publishes and consumes no events
            assert "consumers.py" in present, service.name
        assert (service / "Dockerfile").is_file() and (service / "alembic.ini").is_file()


@pytest.mark.parametrize("package", ["grid_svc", "points_svc", "dispatch_svc", "legal_svc", "gateway"])
def test_migrations_match_the_models(tmp_path, package):
    """`alembic check`: after upgrading to head, autogenerate finds nothing left to migrate."""
    import importlib

    from alembic import command

    from shared.migrations import alembic_config, upgrade

    migrations = importlib.import_module(f"{package}.db").MIGRATIONS
    url = f"sqlite+aiosqlite:///{tmp_path / 'check.db'}"
    upgrade(migrations, url)
    command.check(alembic_config(migrations, url))


def test_code_has_no_unused_or_undefined_names_and_sorted_imports():
    """ruff: pyflakes errors (unused imports, undefined names) and import order, everywhere."""
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "check", "--select", "F,E9,I", "--output-format", "concise", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package", ["grid_svc", "points_svc", "dispatch_svc", "legal_svc", "gateway"])
def test_sqlmodel_is_only_for_tables(package):
    """What crosses the API is a plain pydantic model: a SQLModel that is not a table validates several times
    slower (its own `__new__`, `__init__` and `model_validate`; nested in a list, each item validated twice)."""
    from sqlmodel._compat import is_table_model_class

    ours = _sqlmodels_of(package)
    assert ours, f"no tables found in {package}"
    assert sorted(f"{cls.__module__}.{cls.__name__}" for cls in ours if not is_table_model_class(cls)) == []


@pytest.mark.parametrize("package", ["grid_svc", "points_svc", "dispatch_svc", "legal_svc", "gateway"])
def test_every_instant_is_stored_with_the_platform_type(package):
    """A `datetime` field of a table gets SQLModel's own UTC type unless told otherwise, which converts every value
    read in Python; `shared.columns.UTCDateTime` leaves PostgreSQL's values as the driver returns them (in UTC)."""
    from sqlalchemy import DateTime

    from shared.columns import UTCDateTime

    columns = [column for cls in _sqlmodels_of(package) if hasattr(cls, "__table__") for column in cls.__table__.columns]
    # A type decorator (both UTC types are) stores through its `impl_instance`.
    instants = [column for column in columns if isinstance(getattr(column.type, "impl_instance", column.type), DateTime)]
    assert instants, f"no instants found in {package}"
    assert sorted(f"{c.table.name}.{c.name}" for c in instants if type(c.type) is not UTCDateTime) == []


def _sqlmodels_of(package: str) -> set[type]:
    """Every SQLModel class defined in `package` (its modules imported, migrations aside), but its db module's base."""
    import importlib
    import pkgutil

    from sqlmodel import SQLModel

    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, f"{package}."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found))

    # The service's own base of its tables lives in its db module.
    return {cls for cls in subclasses(SQLModel) if cls.__module__.startswith(f"{package}.") and cls.__module__ != f"{package}.db"}


@pytest.mark.parametrize("package", ["grid_svc", "points_svc", "dispatch_svc", "legal_svc", "gateway"])
def test_no_endpoint_or_dependency_runs_in_a_worker_thread(package, tmp_path, monkeypatch):
    """FastAPI runs a plain `def` endpoint or dependency in a worker thread: a thread hop on every request for
    code that does no blocking work. Every one is `async def` (the login form is FastAPI's own class, and logging in
    hashes a password anyway)."""
    import importlib
    import inspect

    from fastapi.routing import APIRoute
    from fastapi.security import OAuth2PasswordRequestForm

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    app = importlib.import_module(f"{package}.main").create_app()

    def routes(candidates):  # noqa: ANN001, ANN202 - starlette routes, included routers nested
        for route in candidates:
            included = getattr(route, "original_router", None)
            yield from routes(included.routes) if included is not None else [route]

    def dependencies(dependant):  # noqa: ANN001, ANN202 - FastAPI's dependency tree
        for sub in dependant.dependencies:
            yield sub.call
            yield from dependencies(sub)

    in_threads = set()
    api_routes = [route for route in routes(app.routes) if isinstance(route, APIRoute)]
    assert api_routes
    for route in api_routes:
        for call in (route.endpoint, *dependencies(route.dependant)):
            # Security schemes are instances with an async __call__.
            awaited = inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(call, "__call__", None))
            if call is not None and call is not OAuth2PasswordRequestForm and not awaited:
                in_threads.add(f"{route.path}: {getattr(call, '__qualname__', call)}")
    assert sorted(in_threads) == []
