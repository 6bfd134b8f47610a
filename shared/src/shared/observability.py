"""JSON logs with request and trace ids, Prometheus metrics, health and readiness endpoints."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.ids import new_id
from shared.problems import PROBLEM_JSON, TITLES
from shared.routing import api_router

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")

# The platform's traces are its logs (request and W3C trace ids on every line, passed on by the gateway) and its
# metrics are Prometheus'; it exports no OpenTelemetry. FastAPI's own OpenTelemetry hooks are switched off in
# every app: left on, they ask the global providers on every request whether an SDK was installed since.
NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """One JSON line per log event, carrying the bound request/trace/event ids."""
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if json_lines else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.getLogger("aiokafka").setLevel(logging.ERROR)


class Metrics:
    """A service's Prometheus registry (one per app, so several apps can share a process)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration by route and status",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.service = service
        # One child per (method, route, status): `labels()` checks and joins the labels anew on every call.
        self._request_series: dict[tuple[str, str, int], Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request in the duration histogram."""
        key = (method, route, status)
        series = self._request_series.get(key)
        if series is None:
            series = self._request_series[key] = self.requests.labels(self.service, method, route, str(status))
        series.observe(seconds)

    def watch_events(self, relay: Any, consumers: list[Any]) -> None:
        """Expose the relay's and consumers' own counters (read at scrape time)."""
        self.registry.register(_EventCollector(self.service, relay, consumers))

    def render(self) -> bytes:
        """The exposition text for /metrics."""
        return generate_latest(self.registry)


class _EventCollector:
    """Reads counters the relay and consumers keep, so they need not know about Prometheus."""

    def __init__(self, service: str, relay: Any, consumers: list[Any]) -> None:
        self.service, self.relay, self.consumers = service, relay, consumers

    def collect(self):  # noqa: ANN201 - prometheus collector protocol
        published = CounterMetricFamily("events_published", "Outbox rows published to Kafka", labels=["service"])
        published.add_metric([self.service], self.relay.published)
        consumed = CounterMetricFamily("events_consumed", "Events consumed, by outcome", labels=["service", "consumer", "outcome"])
        for consumer in self.consumers:
            consumed.add_metric([self.service, consumer.name, "applied"], consumer.processed)
            consumed.add_metric([self.service, consumer.name, "duplicate"], consumer.duplicates)
            consumed.add_metric([self.service, consumer.name, "dead_lettered"], consumer.dead_lettered)
        assigned = GaugeMetricFamily("consumer_assigned", "1 when the consumer holds partitions", labels=["service", "consumer"])
        lag = GaugeMetricFamily(
            "consumer_lag", "Events on the consumer's partitions not yet applied (absent until known)", labels=["service", "consumer"]
        )
        lag_seen = GaugeMetricFamily(
            "consumer_lag_seen_timestamp_seconds", "When the broker last told the partitions' ends", labels=["service", "consumer"]
        )
        for consumer in self.consumers:
            assigned.add_metric([self.service, consumer.name], 1 if consumer.assigned.is_set() else 0)
            if consumer.lag is not None:
                lag.add_metric([self.service, consumer.name], consumer.lag)
                lag_seen.add_metric([self.service, consumer.name], consumer.lag_seen_at)
        return [published, consumed, assigned, lag, lag_seen]


class RequestContextMiddleware:
    """Request id + W3C trace id into logs and response, body size limit, request metrics.

    Pure ASGI (not BaseHTTPMiddleware): it sits on every request's hot path.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or new_id()
        match = _TRACEPARENT.match(headers.get(b"traceparent", b"").decode("latin-1"))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, trace_id=match.group(1) if match else None)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _too_large(scope, send, request_id)
            return
        started = time.perf_counter()
        status = 500
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if too_large:
                return  # the app may turn the aborted read into its own error (FastAPI: 400); the 413 below answers
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            try:
                await self.app(scope, limited_receive, send_with_id)
            except _BodyTooLarge:
                pass
            if too_large:
                status = 413
                await _too_large(scope, send, request_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.observe_request(scope["method"], path, status, time.perf_counter() - started)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, send: Send, request_id: str) -> None:
    body = json.dumps(
        {
            "type": "https://grassroots.example/problems/payload_too_large",
            "title": TITLES["payload_too_large"][0],
            "status": 413,
            "code": "payload_too_large",
            "instance": scope.get("path"),
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"x-request-id", request_id.encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


ReadinessCheck = Callable[[], Awaitable[bool]]


def health_router(metrics: Metrics, checks: dict[str, ReadinessCheck]) -> APIRouter:
    """`/healthz` (process up), `/readyz` (each named dependency reachable), `/metrics`."""
    router = api_router(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        """Answers 200 while the process runs."""
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: database and broker reachable")
    async def readyz(request: Request) -> JSONResponse:
        """200 with each check's result when all pass, 503 otherwise."""
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = await check()
            except Exception:
                results[name] = False
        ready = all(results.values())
        return JSONResponse({"status": "ready" if ready else "unready", "checks": results}, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics_endpoint() -> Response:
        """Metrics in the Prometheus text format."""
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router
