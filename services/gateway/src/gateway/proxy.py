"""Forwarding `/api/v1/<domain>/…` to the owning service, streaming, with the caller's identity.

The HTTP client is the gateway's main cost, so the httpx API runs over an aiohttp transport
with a pooled connection per upstream; bodies stream through without being parsed.
"""

from __future__ import annotations

import httpx
from fastapi import Request
from fastapi.responses import StreamingResponse
from httpx_aiohttp import AiohttpTransport
from starlette.background import BackgroundTask

from gateway.settings import GatewaySettings
from shared.identity import IDENTITY_HEADER, Identity, issue_identity_token
from shared.problems import Problem

# Headers that describe one connection, or that the gateway itself answers for.
_DROPPED_REQUEST_HEADERS = frozenset(
    {"host", "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-authorization", "authorization",
     "x-api-key", "cookie", IDENTITY_HEADER.lower(), "content-length", "transfer-encoding"}
)
_DROPPED_RESPONSE_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"})


class Upstreams:
    """One pooled HTTP client per domain service."""

    def __init__(self, settings: GatewaySettings, transports: dict[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self.settings = settings
        limits = httpx.Limits(max_connections=settings.upstream_pool_size, max_keepalive_connections=settings.upstream_pool_size)
        timeout = httpx.Timeout(settings.upstream_timeout_s, connect=min(2.0, settings.upstream_timeout_s))
        self.clients = {
            domain: httpx.AsyncClient(
                base_url=url,
                timeout=timeout,
                transport=(transports or {}).get(domain) or AiohttpTransport(limits=limits, trust_env=False),
            )
            for domain, url in settings.upstreams().items()
        }

    def client(self, domain: str) -> httpx.AsyncClient:
        """The client for a domain's service (404 for an unknown domain)."""
        try:
            return self.clients[domain]
        except KeyError:
            raise Problem(404, "not_found", f"no service for {domain}") from None

    def identity_headers(self, identity: Identity) -> dict[str, str]:
        """The signed identity header for a call on behalf of `identity`."""
        return {IDENTITY_HEADER: issue_identity_token(identity, self.settings.identity_secret.get_secret_value())}

    async def forward(self, request: Request, domain: str, identity: Identity | None) -> StreamingResponse:
        """Send the request on to the domain's service and stream its answer back."""
        client = self.client(domain)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _DROPPED_REQUEST_HEADERS]
        if identity is not None:
            headers.extend(self.identity_headers(identity).items())
        upstream_request = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query.encode("latin-1") if request.url.query else None,
            headers=headers,
            content=request.stream() if request.method not in ("GET", "HEAD", "DELETE", "OPTIONS") else None,
        )
        try:
            response = await client.send(upstream_request, stream=True)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise Problem(503, "service_unavailable", f"{domain} service unavailable", headers={"Retry-After": "5"}) from exc
        return StreamingResponse(
            response.aiter_raw(),
            status_code=response.status_code,
            headers={k: v for k, v in response.headers.items() if k.lower() not in _DROPPED_RESPONSE_HEADERS},
            background=BackgroundTask(response.aclose),
        )

    async def close(self) -> None:
        """Close every pooled connection."""
        for client in self.clients.values():
            await client.aclose()
