"""Calls to the domain services: streaming forwarding, JSON fetches for composed views.

The HTTP client is the gateway's main cost, so the httpx API runs over an aiohttp transport
with a pooled connection set per upstream; forwarded bodies stream through without being
parsed. Each upstream has a circuit breaker so a dead service is not hammered.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any
from urllib.parse import quote

import httpx
import structlog
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from httpx_aiohttp import AiohttpTransport
from starlette.background import BackgroundTask

from gateway.breaker import CircuitBreaker
from gateway.settings import GatewaySettings
from shared.identity import IDENTITY_HEADER, Identity, issue_identity_token
from shared.problems import Problem

log = structlog.get_logger("gateway.proxy")

# Headers that describe one connection, or that the gateway itself answers for.
_DROPPED_REQUEST_HEADERS = frozenset(
    {"host", "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-authorization", "authorization",
     "x-api-key", "cookie", IDENTITY_HEADER.lower(), "content-length", "transfer-encoding", "traceparent",
     "x-request-id", "origin"}
)
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date", "x-request-id"}
)
_UPSTREAM_FAILURE_STATUSES = frozenset({502, 503, 504})
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
IDENTITY_TTL_S = 60


class UpstreamUnavailable(Exception):
    """A service could not be reached, timed out, failed, or its circuit is open."""

    def __init__(self, domain: str, reason: str) -> None:
        super().__init__(f"{domain}: {reason}")
        self.domain = domain
        self.reason = reason


class UpstreamError(Exception):
    """A service answered with an error status (its problem body is kept)."""

    def __init__(self, domain: str, status: int, body: Any) -> None:
        super().__init__(f"{domain}: {status}")
        self.domain = domain
        self.status = status
        self.body = body


def child_traceparent(request: Request) -> str:
    """W3C traceparent for the upstream call: the caller's trace id, a new span of the gateway."""
    incoming = request.headers.get("traceparent", "")
    parts = incoming.split("-")
    trace_id = parts[1] if len(parts) == 4 and len(parts[1]) == 32 else os.urandom(16).hex()
    flags = parts[3] if len(parts) == 4 and len(parts[3]) == 2 else "01"
    return f"00-{trace_id}-{os.urandom(8).hex()}-{flags}"


def request_id_of(request: Request) -> str:
    """The request id the gateway's middleware bound for this request."""
    return structlog.contextvars.get_contextvars().get("request_id") or request.headers.get("x-request-id", "")


class Upstreams:
    """One pooled HTTP client and one circuit breaker per domain service."""

    def __init__(self, settings: GatewaySettings, transports: dict[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self.settings = settings
        limits = httpx.Limits(max_connections=settings.upstream_pool_size, max_keepalive_connections=settings.upstream_pool_size)
        timeout = httpx.Timeout(settings.upstream_timeout_s, connect=min(settings.upstream_connect_timeout_s, settings.upstream_timeout_s))
        self.transports: dict[str, httpx.AsyncBaseTransport] = {
            domain: (transports or {}).get(domain) or AiohttpTransport(limits=limits, trust_env=False)
            for domain in settings.upstreams()
        }
        self.clients = {
            domain: httpx.AsyncClient(base_url=url, timeout=timeout, transport=self.transports[domain])
            for domain, url in settings.upstreams().items()
        }
        self._bases = {domain: url.rstrip("/") for domain, url in settings.upstreams().items()}
        self._timeout = timeout.as_dict()
        self.breakers = {
            domain: CircuitBreaker(domain, failure_threshold=settings.breaker_failure_threshold, reset_after_s=settings.breaker_reset_s)
            for domain in self.clients
        }
        self._secret = settings.identity_secret.get_secret_value()
        # Signing costs more than the rest of a forward: a token is reused for half its lifetime.
        self._tokens: dict[str, tuple[Identity, str, float]] = {}

    def client(self, domain: str) -> httpx.AsyncClient:
        """The client for a domain's service (404 for an unknown domain)."""
        try:
            return self.clients[domain]
        except KeyError:
            raise Problem(404, "not_found", f"no service for {domain}") from None

    def identity_headers(self, identity: Identity) -> dict[str, str]:
        """The signed identity header for a call on behalf of `identity`."""
        now = time.monotonic()
        cached = self._tokens.get(identity.subject)
        if cached is not None and cached[0] == identity and now - cached[2] < IDENTITY_TTL_S / 2:
            return {IDENTITY_HEADER: cached[1]}
        token = issue_identity_token(identity, self._secret, ttl_seconds=IDENTITY_TTL_S)
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[identity.subject] = (identity, token, now)
        return {IDENTITY_HEADER: token}

    def _unavailable(self, domain: str) -> Problem:
        return Problem(
            503,
            "service_unavailable",
            f"{domain} service unavailable",
            headers={"Retry-After": str(self.breakers[domain].retry_after())},
        )

    async def forward(
        self,
        request: Request,
        domain: str,
        identity: Identity | None,
        *,
        query: str | None = None,
        body: bytes | None = None,
    ) -> Response:
        """Send the request on to the domain's service and relay its answer (streamed when large)."""
        self.client(domain)  # 404 for an unknown domain
        breaker = self.breakers[domain]
        if not breaker.allow():
            raise self._unavailable(domain)
        headers = [(k, v) for k, v in request.headers.items() if k not in _DROPPED_REQUEST_HEADERS]
        headers.append(("x-request-id", request_id_of(request)))
        headers.append(("traceparent", child_traceparent(request)))
        if identity is not None:
            headers.extend(self.identity_headers(identity).items())
        query = request.url.query if query is None else query
        if body is not None:
            content: Any = body
        elif request.method in _BODYLESS_METHODS:
            content = None
        else:
            content = request.stream()
        url = f"{self._bases[domain]}{request.url.path}" + (f"?{query}" if query else "")
        upstream_request = httpx.Request(request.method, url, headers=headers, content=content, extensions={"timeout": self._timeout})
        try:
            # Straight to the pooled transport: no cookie jar shared between callers, no redirects,
            # nothing the hot path does not need.
            response = await self.transports[domain].handle_async_request(upstream_request)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            breaker.record_failure()
            log.warning("upstream.failed", domain=domain, error=repr(exc))
            raise self._unavailable(domain) from exc
        if response.status_code in _UPSTREAM_FAILURE_STATUSES:
            breaker.record_failure()
        else:
            breaker.record_success()
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _DROPPED_RESPONSE_HEADERS}
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) <= self.settings.upstream_buffer_bytes:
            # Most answers are small: pass the bytes on whole (unparsed), which skips the
            # per-response task that streaming needs.
            try:
                content = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
            return Response(content, status_code=response.status_code, headers=headers)
        return StreamingResponse(
            response.aiter_raw(), status_code=response.status_code, headers=headers, background=BackgroundTask(response.aclose)
        )

    async def get_json(
        self,
        domain: str,
        path: str,
        *,
        identity: Identity | None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
        request: Request | None = None,
    ) -> Any:
        """GET a service's JSON answer; raise UpstreamUnavailable or UpstreamError on failure."""
        client = self.client(domain)
        breaker = self.breakers[domain]
        if not breaker.allow():
            raise UpstreamUnavailable(domain, "circuit open")
        headers = self.identity_headers(identity) if identity is not None else {}
        if request is not None:
            headers["x-request-id"] = request_id_of(request)
            headers["traceparent"] = child_traceparent(request)
        limit = timeout or self.settings.view_timeout_s
        try:
            # The deadline covers the whole call, whatever the transport does with httpx's timeouts.
            async with asyncio.timeout(limit):
                # Ids come from the caller's path: encode what a URL may not hold (control characters, spaces).
                response = await client.get(quote(path, safe="/:@!$&'()*+,;=~"), params=params, headers=headers, timeout=limit)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # The aiohttp transport reports a refused connection as a connect timeout.
            breaker.record_failure()
            raise UpstreamUnavailable(domain, "unreachable") from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            breaker.record_failure()
            raise UpstreamUnavailable(domain, "timed out") from exc
        except asyncio.CancelledError:
            breaker.record_failure()
            raise
        except httpx.TransportError as exc:
            breaker.record_failure()
            raise UpstreamUnavailable(domain, "unreachable") from exc
        if response.status_code in _UPSTREAM_FAILURE_STATUSES:
            breaker.record_failure()
            raise UpstreamUnavailable(domain, f"answered {response.status_code}")
        breaker.record_success()
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = response.text
            raise UpstreamError(domain, response.status_code, body)
        return response.json()

    async def close(self) -> None:
        """Close every pooled connection."""
        for client in self.clients.values():
            await client.aclose()  # closes its transport too
