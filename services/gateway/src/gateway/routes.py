"""The forwarded routes: each domain's public paths go to the service that owns them.

`/api/v1/<domain>/…` goes to the domain's service with the caller's verified identity;
`/open311/v2/…` goes to dispatch-svc's Open311 face, where the key may also come as the
GeoReport `api_key` parameter (query or form field).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from gateway.callers import OptionalCaller, caller_of, resolve_caller
from shared.identity import Identity, Role
from shared.problems import Problem
from shared.routing import api_router

DOMAINS = ("grid", "points", "dispatch", "legal")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_READ_METHODS = frozenset({"GET", "HEAD"})
_FORM = "application/x-www-form-urlencoded"

router = api_router()


def require_key_rights(identity: Identity, domain: str, method: str) -> None:
    """API keys reach only granted domains, and read-only ones only with GET (403 otherwise)."""
    if identity.role != Role.SYSTEM:
        return
    right = identity.rights.get(domain)  # type: ignore[call-overload]
    if right is None:
        raise Problem(403, "forbidden", f"this API key has no access to {domain}")
    if right != "write" and method not in _READ_METHODS:
        raise Problem(403, "forbidden", f"read-only access to {domain}")


class Forwarder:
    """The ASGI endpoint of one domain's paths: forwarded with the caller's verified identity.

    Most of the gateway's traffic comes this way, so it skips FastAPI's endpoint machinery (dependency
    solving, parameter parsing: a sixth of the gateway's CPU per forward when profiled). What the
    dependencies did happens here in the same order: the credentials, the rate limit, the key's rights.
    A Problem raised here reaches the app's problem handlers like any endpoint's.
    """

    def __init__(self, domain: str) -> None:
        self.domain = domain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        identity = (await caller_of(request)).identity
        require_key_rights(identity, self.domain, scope["method"])
        response = await scope["app"].state.runtime.upstreams.forward(request, self.domain, identity)
        await response(scope, receive, send)


class ForwardRoute(Route):
    """A forwarded domain's route: named in the request's scope like FastAPI's routes (the request
    metrics are labelled with its path), and without the HEAD that Starlette adds beside GET (the
    services answer none)."""

    def __init__(self, domain: str) -> None:
        super().__init__(f"/api/v1/{domain}/{{path:path}}", Forwarder(domain), methods=METHODS, name=f"forward_{domain}",
                         include_in_schema=False)
        self.methods = set(METHODS)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Starlette's match, with the route itself in the child scope."""
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def add_forward_routes(app: FastAPI) -> None:
    """Route `/api/v1/<domain>/…` of every domain to its service (put first: the busiest routes)."""
    app.router.routes.extend(ForwardRoute(domain) for domain in DOMAINS)


@router.api_route("/open311/v2/{path:path}", methods=["GET", "POST"], include_in_schema=False, response_model=None)
async def forward_open311(path: str, request: Request, caller: OptionalCaller) -> Response:
    """Open311 GeoReport v2, answered by dispatch-svc; `api_key` identifies a county system."""
    query_pairs = parse_qsl(request.url.query, keep_blank_values=True)
    api_key = next((v for k, v in query_pairs if k == "api_key"), None)
    body: bytes | None = None
    if request.method == "POST" and request.headers.get("content-type", "").split(";")[0].strip() == _FORM:
        body = await request.body()
        form_pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        api_key = api_key or next((v for k, v in form_pairs if k == "api_key"), None)
        body = urlencode([(k, v) for k, v in form_pairs if k != "api_key"]).encode()
    try:
        if caller is None and api_key:
            caller = await resolve_caller(request, None, api_key)
        identity = caller.identity if caller is not None else None
        if identity is not None:
            require_key_rights(identity, "dispatch", request.method)
    except Problem as problem:
        # Open311 clients read GeoReport's error list, not problem+json.
        return JSONResponse([{"code": problem.status, "description": problem.detail or problem.code}],
                            status_code=problem.status, headers=problem.headers)
    # The key stays at the gateway: services get the signed identity instead.
    query = urlencode([(k, v) for k, v in query_pairs if k != "api_key"])
    return await request.app.state.runtime.upstreams.forward(request, "dispatch", identity, query=query, body=body)

