"""Schema-driven fuzzing: every operation of every service's OpenAPI, and the gateway's own, over real HTTP.

The five services run as processes on PostgreSQL (which, unlike SQLite, enforces column lengths,
so a missing request limit shows up as a 5xx here). For each operation schemathesis generates a
bounded number of requests from the schema (derandomised: the same requests on every run) and
checks the answers: no 5xx, a documented status, the declared content type, and a body that
matches the response schema. Failures are collected for every operation, then reported together.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis
from faults.processes import PROCESS_ENV, SERVICE_NAMES, require_postgres
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.stack import ProcessStack
from harness import identity_headers
from shared.testing import create_postgres_database, drop_postgres_database

EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DOMAIN_PREFIXES = ("/api/v1/grid/", "/api/v1/points/", "/api/v1/dispatch/", "/api/v1/legal/", "/open311/")
# The fuzzer logs in and creates keys over and over: lift the gateway's limits for this stack only.
FUZZ_ENV = {**PROCESS_ENV, "RATE_LIMIT_PER_MINUTE": "1000000", "RATE_LIMIT_BURST": "100000",
            "ANONYMOUS_RATE_LIMIT_PER_MINUTE": "1000000", "ANONYMOUS_RATE_LIMIT_BURST": "100000"}


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    """Broker + five service processes on fresh PostgreSQL databases."""
    require_postgres()
    urls = {name: asyncio.run(create_postgres_database(prefix="fuzz_" + name.replace("-", "_"))) for name in SERVICE_NAMES}
    stack = ProcessStack(var=Path(tmp_path_factory.mktemp("fuzz")), database_urls=urls, extra_env=FUZZ_ENV)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        for url in urls.values():
            asyncio.run(drop_postgres_database(url))


def fuzz(schema, base_url: str, headers: dict[str, str], keep=lambda path: True) -> tuple[int, Counter, list[str]]:  # noqa: ANN001
    """Run every kept operation; return (operations, statuses seen, failures)."""
    session = requests.Session()
    statuses: Counter = Counter()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not keep(operation.path):
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # noqa: ANN001
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # schemathesis raises exception groups; one entry per broken operation
            failures.append(f"{operation.method.upper()} {operation.path}: {_summary(exc)}")
    return operations, statuses, failures


def _summary(exc: BaseException) -> str:
    text = str(exc)
    lines = [line.strip(" |") for line in text.splitlines() if line.strip(" |")]
    wanted = [line for line in lines if line.startswith(("- ", "[", "curl", "`"))]
    return " / ".join(wanted or lines[:3])[:1500]


@pytest.mark.parametrize("service", ["grid-svc", "points-svc", "dispatch-svc", "legal-svc"])
def test_every_operation_of_the_service_survives_schema_driven_fuzzing(processes, service):
    base = processes.services[service].url
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations, statuses, failures = fuzz(schema, base, identity_headers())
    print(f"\n[fuzz {service}] operations: {operations}, requests: {sum(statuses.values())}, "
          f"statuses: {dict(sorted(statuses.items()))}, failures: {len(failures)}")
    assert operations > 20
    assert not failures, "\n".join(failures)


def test_the_gateways_own_operations_survive_schema_driven_fuzzing(processes):
    base = processes.services["gateway"].url
    token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "admin", "password": "admin12345"}).json()["access_token"]
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    # Forwarded routes are each service's own, fuzzed above against the service; here the gateway's.
    operations, statuses, failures = fuzz(
        schema, base, {"Authorization": f"Bearer {token}"}, keep=lambda path: not path.startswith(DOMAIN_PREFIXES)
    )
    print(f"\n[fuzz gateway] operations: {operations}, requests: {sum(statuses.values())}, "
          f"statuses: {dict(sorted(statuses.items()))}, failures: {len(failures)}")
    assert operations > 10
    assert not failures, "\n".join(failures)


def test_deeply_nested_json_is_a_client_error_on_every_service(processes):
    deep = b'{"name": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    answers = {}
    for name, path in (("grid-svc", "/api/v1/grid/units"), ("points-svc", "/api/v1/points/rules"),
                       ("dispatch-svc", "/api/v1/dispatch/lectures"), ("legal-svc", "/api/v1/legal/cases")):
        response = httpx.post(f"{processes.services[name].url}{path}", content=deep,
                              headers={**identity_headers(), "content-type": "application/json"}, timeout=30)
        answers[name] = response.status_code
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:200])
        assert response.headers["content-type"].startswith("application/problem+json")
        assert httpx.get(f"{processes.services[name].url}/healthz").status_code == 200  # and the process lives on
    print(f"\n[deep json] {len(deep)} bytes, 50,000 levels → {answers}")
