"""Fixtures shared by every test: database backends, the local broker, running stacks."""

from __future__ import annotations

import os

import pytest

from shared.testing import LocalBroker, postgres_available

REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
POSTGRES_UP = postgres_available()


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_UP:
        return "PostgreSQL: reachable, the PostgreSQL half of the suite runs"
    return "!!! PostgreSQL: NOT reachable at 127.0.0.1:5432 -- the PostgreSQL half of the suite is SKIPPED !!!"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001 - pytest hook
    if not POSTGRES_UP:
        terminalreporter.write_line(
            "WARNING: PostgreSQL was not reachable; every PostgreSQL test was skipped.", red=True, bold=True
        )


def _backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not POSTGRES_UP:
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES=1) but not reachable at 127.0.0.1:5432")
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    return request.param


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of a module's stack: each module runs once per backend."""
    return _backend(request)


@pytest.fixture(scope="module")
def broker(backend: str) -> LocalBroker:
    """A broker of the module's own for each backend, so consumer groups and offsets never meet another run's."""
    local = LocalBroker.start()
    yield local
    local.stop()
