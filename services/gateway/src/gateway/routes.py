"""The forwarded routes: each domain's public paths go to the service that owns them.

`/api/v1/<domain>/…` goes to the domain's service with the caller's verified identity;
`/open311/v2/…` goes to dispatch-svc's Open311 face, where the key may also come as the
GeoReport `api_key` parameter (query or form field).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from gateway.callers import CallerIdentity, OptionalCaller, resolve_caller
from shared.identity import Identity, Role
from shared.problems import Problem

DOMAINS = ("grid", "points", "dispatch", "legal")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_READ_METHODS = frozenset({"GET", "HEAD"})
_FORM = "application/x-www-form-urlencoded"

router = APIRouter()


def require_key_rights(identity: Identity, domain: str, method: str) -> None:
    """API keys reach only granted domains, and read-only ones only with GET (403 otherwise)."""
    if identity.role != Role.SYSTEM:
        return
    right = identity.rights.get(domain)  # type: ignore[call-overload]
    if right is None:
        raise Problem(403, "forbidden", f"this API key has no access to {domain}")
    if right != "write" and method not in _READ_METHODS:
        raise Problem(403, "forbidden", f"read-only access to {domain}")


def _forwarder(domain: str):  # noqa: ANN202 - an endpoint
    async def forward(path: str, request: Request, identity: CallerIdentity) -> Response:
        require_key_rights(identity, domain, request.method)
        return await request.app.state.runtime.upstreams.forward(request, domain, identity)

    forward.__name__ = f"forward_{domain}"
    forward.__doc__ = f"Forwarded to the {domain} service with the caller's verified identity."
    return forward


for _domain in DOMAINS:
    router.add_api_route(f"/api/v1/{_domain}/{{path:path}}", _forwarder(_domain), methods=METHODS, include_in_schema=False)


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

