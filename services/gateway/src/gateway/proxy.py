"""Calls to the domain services: streaming forwarding, JSON fetches for composed views.

Each upstream has one pooled aiohttp session, called directly on the hot paths (a forward and a
view's fetch cost the gateway about as much as the service's own work, so no layer is spent on
what they do not need); httpx clients over the same session serve the rare calls (readiness,
OpenAPI documents). Tests may give a domain an httpx transport instead (an in-process app): the
same code then sends through it. Forwarded bodies stream through without being parsed. Each
upstream has a circuit breaker so a dead service is not hammered.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import httpx
import structlog
import yarl
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
    {b"host", b"connection", b"keep-alive", b"te", b"trailer", b"upgrade", b"proxy-authorization", b"authorization",
     b"x-api-key", b"cookie", IDENTITY_HEADER.lower().encode(), b"content-length", b"transfer-encoding", b"traceparent",
     b"x-request-id", b"origin"}
)
_DROPPED_RESPONSE_HEADERS = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"server", b"date", b"x-request-id"}
)
_UPSTREAM_FAILURE_STATUSES = frozenset({502, 503, 504})
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# A forwarded path goes on as the caller encoded it (the service decodes it as the gateway did);
# only what a request line may not hold is escaped.
_PATH_SAFE = "/:@!$&'()*+,;=~%"
_QUERY_SAFE = "/:@!$&'()*+,;=~%?"
# Ids in a view's paths come from the caller: encode what a URL may not hold (control characters, spaces).
_FETCH_PATH_SAFE = "/:@!$&'()*+,;=~"
IDENTITY_TTL_S = 60
UPSTREAM_KEEPALIVE_S = 4.0


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
    return _child_of(request.headers.get("traceparent", ""))


def _child_of(incoming: str) -> str:
    parts = incoming.split("-")
    trace_id = parts[1] if len(parts) == 4 and len(parts[1]) == 32 else os.urandom(16).hex()
    flags = parts[3] if len(parts) == 4 and len(parts[3]) == 2 else "01"
    return f"00-{trace_id}-{os.urandom(8).hex()}-{flags}"


def request_id_of(request: Request) -> str:
    """The request id the gateway's middleware bound for this request."""
    return structlog.contextvars.get_contextvars().get("request_id") or request.headers.get("x-request-id", "")


def _query_value(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def encode_query(params: dict[str, Any] | None) -> str:
    """A query string from parameters; a list value repeats its name (`status=a&status=b`)."""
    if not params:
        return ""
    pairs = []
    for name, value in params.items():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            pairs.append(f"{quote(name, safe='')}={quote(_query_value(item), safe='')}")
    return "&".join(pairs)


@dataclass(slots=True)
class UpstreamAnswer:
    """A service's answer before its body is read."""

    status: int
    headers: list[tuple[bytes, bytes]]  # names in lower case
    read: Callable[[], Awaitable[bytes]]
    chunks: Callable[[], AsyncIterator[bytes]]
    close: Callable[[], Awaitable[None]]

    def header(self, name: bytes) -> bytes | None:
        """The first value of a header (`name` in lower case)."""
        return next((v for k, v in self.headers if k == name), None)


def _relayed(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Response:
    """A whole answer passed on: the service's headers as they came (repeated ones kept), our own length."""
    response = Response(body, status_code=status)
    if status < 200 or status in (204, 304):
        response.raw_headers = headers
    else:
        response.raw_headers = [*headers, (b"content-length", str(len(body)).encode())]
    return response


class Upstreams:
    """One pooled connection set and one circuit breaker per domain service."""

    def __init__(self, settings: GatewaySettings, transports: dict[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self.settings = settings
        timeout = httpx.Timeout(settings.upstream_timeout_s, connect=min(settings.upstream_connect_timeout_s, settings.upstream_timeout_s))
        injected = transports or {}
        # The domains without an injected transport talk to their service over the network. An idle
        # connection is dropped before uvicorn's 5 s keep-alive ends, so none is reused as the service closes it.
        # A session is shared by every caller: it keeps no cookies (one caller's would go out with another's request).
        self.sessions: dict[str, aiohttp.ClientSession] = {
            domain: aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=settings.upstream_pool_size, keepalive_timeout=UPSTREAM_KEEPALIVE_S),
                cookie_jar=aiohttp.DummyCookieJar(), trust_env=False, auto_decompress=False,
            )
            for domain in settings.upstreams()
            if injected.get(domain) is None
        }
        self.transports: dict[str, httpx.AsyncBaseTransport] = {
            domain: injected.get(domain) or AiohttpTransport(client=self.sessions[domain], trust_env=False)
            for domain in settings.upstreams()
        }
        self.clients = {
            domain: httpx.AsyncClient(base_url=url, timeout=timeout, transport=self.transports[domain])
            for domain, url in settings.upstreams().items()
        }
        self._bases = {domain: url.rstrip("/") for domain, url in settings.upstreams().items()}
        self._timeout = timeout.as_dict()
        self._native_timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout.pool, sock_connect=timeout.connect, sock_read=timeout.read
        )
        self.breakers = {
            domain: CircuitBreaker(domain, failure_threshold=settings.breaker_failure_threshold, reset_after_s=settings.breaker_reset_s)
            for domain in self.clients
        }
        self._secret = settings.identity_secret.get_secret_value()
        # Signing costs more than the rest of a forward: a token is reused for half its lifetime.
        self._tokens: dict[str, tuple[Identity, str, float]] = {}

    def client(self, domain: str) -> httpx.AsyncClient:
        """The httpx client for a domain's service, for occasional calls (404 for an unknown domain)."""
        try:
            return self.clients[domain]
        except KeyError:
            raise Problem(404, "not_found", f"no service for {domain}") from None

    def identity_token(self, identity: Identity) -> str:
        """The signed identity token for a call on behalf of `identity`."""
        now = time.monotonic()
        cached = self._tokens.get(identity.subject)
        if cached is not None and (cached[0] is identity or cached[0] == identity) and now - cached[2] < IDENTITY_TTL_S / 2:
            return cached[1]
        token = issue_identity_token(identity, self._secret, ttl_seconds=IDENTITY_TTL_S)
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[identity.subject] = (identity, token, now)
        return token

    def _unavailable(self, domain: str) -> Problem:
        return Problem(
            503,
            "service_unavailable",
            f"{domain} service unavailable",
            headers={"Retry-After": str(self.breakers[domain].retry_after())},
        )

    async def _send(self, domain: str, method: str, url: str, headers: list[tuple[str, str]], content: Any) -> UpstreamAnswer:
        """One exchange with a service; UpstreamUnavailable when it cannot be had (the breaker is the caller's)."""
        session = self.sessions.get(domain)
        if session is not None:
            try:
                response = await session.request(
                    method, yarl.URL(url, encoded=True), headers=headers, data=content, allow_redirects=False,
                    timeout=self._native_timeout,
                )
            except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
                raise UpstreamUnavailable(domain, "timed out") from exc
            except aiohttp.ClientError as exc:
                raise UpstreamUnavailable(domain, "unreachable") from exc

            async def close() -> None:
                response.release()

            answered = [(k.lower(), v) for k, v in response.raw_headers]
            return UpstreamAnswer(response.status, answered, response.read, response.content.iter_any, close)
        request = httpx.Request(method, url, headers=headers, content=content, extensions={"timeout": self._timeout})
        try:
            answer = await self.transports[domain].handle_async_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise UpstreamUnavailable(domain, "unreachable") from exc
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(domain, "timed out") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(domain, "unreachable") from exc

        async def read() -> bytes:
            try:
                return b"".join([chunk async for chunk in answer.aiter_raw()])
            finally:
                await answer.aclose()

        relayed = [(k.lower(), v) for k, v in answer.headers.raw]
        return UpstreamAnswer(answer.status_code, relayed, read, answer.aiter_raw, answer.aclose)

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
        base = self._bases.get(domain)
        if base is None:
            raise Problem(404, "not_found", f"no service for {domain}")
        breaker = self.breakers[domain]
        if not breaker.allow():
            raise self._unavailable(domain)
        scope = request.scope
        headers: list[tuple[str, str]] = []
        traceparent = ""
        for name, value in scope["headers"]:
            if name not in _DROPPED_REQUEST_HEADERS:
                headers.append((name.decode("latin-1"), value.decode("latin-1")))
            elif name == b"traceparent":
                traceparent = value.decode("latin-1")
        headers.append(("x-request-id", request_id_of(request)))
        headers.append(("traceparent", _child_of(traceparent)))
        if identity is not None:
            headers.append((IDENTITY_HEADER, self.identity_token(identity)))
        if query is None:
            query = scope["query_string"].decode("latin-1")
        method = scope["method"]
        if body is not None:
            content: Any = body
        elif method in _BODYLESS_METHODS:
            content = None
        else:
            content = request.stream()
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        url = f"{base}{quote(path, safe=_PATH_SAFE)}" + (f"?{quote(query, safe=_QUERY_SAFE)}" if query else "")
        try:
            answer = await self._send(domain, method, url, headers, content)
        except UpstreamUnavailable as exc:
            breaker.record_failure()
            log.warning("upstream.failed", domain=domain, error=repr(exc.__cause__))
            raise self._unavailable(domain) from exc
        if answer.status in _UPSTREAM_FAILURE_STATUSES:
            breaker.record_failure()
        else:
            breaker.record_success()
        relayed = [(k, v) for k, v in answer.headers if k not in _DROPPED_RESPONSE_HEADERS]
        declared = answer.header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) <= self.settings.upstream_buffer_bytes:
            # Most answers are small: pass the bytes on whole (unparsed), which skips the
            # per-response task that streaming needs.
            return _relayed(answer.status, relayed, await answer.read())
        streamed = StreamingResponse(answer.chunks(), status_code=answer.status, background=BackgroundTask(answer.close))
        streamed.raw_headers = relayed
        return streamed

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
        base = self._bases.get(domain)
        if base is None:
            raise Problem(404, "not_found", f"no service for {domain}")
        breaker = self.breakers[domain]
        if not breaker.allow():
            raise UpstreamUnavailable(domain, "circuit open")
        headers = [(IDENTITY_HEADER, self.identity_token(identity))] if identity is not None else []
        if request is not None:
            headers.append(("x-request-id", request_id_of(request)))
            headers.append(("traceparent", child_traceparent(request)))
        query = encode_query(params)
        url = f"{base}{quote(path, safe=_FETCH_PATH_SAFE)}" + (f"?{query}" if query else "")
        try:
            # The deadline covers the whole call, body included, whatever the transport does with its own timeouts.
            async with asyncio.timeout(timeout or self.settings.view_timeout_s):
                answer = await self._send(domain, "GET", url, headers, None)
                body = await answer.read()
        except UpstreamUnavailable:
            breaker.record_failure()
            raise
        except TimeoutError as exc:
            breaker.record_failure()
            raise UpstreamUnavailable(domain, "timed out") from exc
        except asyncio.CancelledError:
            breaker.record_failure()
            raise
        except (aiohttp.ClientError, httpx.TransportError) as exc:  # the connection broke while the body came
            breaker.record_failure()
            raise UpstreamUnavailable(domain, "unreachable") from exc
        if answer.status in _UPSTREAM_FAILURE_STATUSES:
            breaker.record_failure()
            raise UpstreamUnavailable(domain, f"answered {answer.status}")
        breaker.record_success()
        if answer.status >= 400:
            try:
                problem = json.loads(body)
            except ValueError:
                problem = body.decode("utf-8", "replace")
            raise UpstreamError(domain, answer.status, problem)
        return json.loads(body)

    async def close(self) -> None:
        """Close every pooled connection."""
        for client in self.clients.values():
            await client.aclose()  # closes its transport, and the session under it
        for session in self.sessions.values():
            await session.close()
