"""The forwarded routes: each domain's public paths go to the service that owns them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from gateway.accounts.views import CallerIdentity

DOMAINS = ("grid", "points", "dispatch", "legal")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

router = APIRouter()


def _forwarder(domain: str):  # noqa: ANN202 - an endpoint
    async def forward(path: str, request: Request, identity: CallerIdentity) -> StreamingResponse:
        return await request.app.state.runtime.upstreams.forward(request, domain, identity)

    forward.__name__ = f"forward_{domain}"
    forward.__doc__ = f"Forwarded to the {domain} service with the caller's verified identity."
    return forward


for _domain in DOMAINS:
    router.add_api_route(f"/api/v1/{_domain}/{{path:path}}", _forwarder(_domain), methods=METHODS, include_in_schema=False)
