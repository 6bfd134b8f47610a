"""One OpenAPI document for the front-end teams: the gateway's own routes plus every service's.

Each service's document is fetched when asked for (cached briefly), its paths are taken as
they are (they already carry `/api/v1/<domain>/`), its schemas are renamed with the domain
as prefix (`GridUnitPublic`) so equal names never collide, and every `$ref` follows. A service
that is down is named in `info.x-degraded` and the document is not cached.
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.proxy import UpstreamError, Upstreams, UpstreamUnavailable
from shared.routing import api_router

_SCHEMA_REF = "#/components/schemas/"
_PUBLIC_PREFIXES = ("/api/", "/open311/", "/notices/")
_CALLER_SECURITY = [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}]


def _rename_refs(node: Any, prefix: str) -> Any:
    """A copy of `node` with every schema `$ref` pointing at the prefixed name."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_SCHEMA_REF):
                out[key] = _SCHEMA_REF + prefix + value[len(_SCHEMA_REF):]
            else:
                out[key] = _rename_refs(value, prefix)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, prefix) for item in node]
    return node


def merge_documents(own: dict[str, Any], services: dict[str, dict[str, Any]], missing: list[str]) -> dict[str, Any]:
    """The gateway's document with each service's public paths and prefixed schemas added."""
    merged = copy.deepcopy(own)
    # Health and metrics are for operators, not part of the front ends' contract.
    paths = {p: item for p, item in merged.get("paths", {}).items() if p.startswith(_PUBLIC_PREFIXES)}
    merged["paths"] = paths
    components = merged.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    tags = {tag["name"]: tag for tag in merged.get("tags", [])}
    for domain, document in services.items():
        prefix = domain.capitalize()
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas[prefix + name] = _rename_refs(schema, prefix)
        for path, item in document.get("paths", {}).items():
            if not path.startswith(_PUBLIC_PREFIXES) or path in paths:
                continue
            item = _rename_refs(item, prefix)
            for operation in item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation["tags"] = [f"{domain}: {t}" for t in operation.get("tags", [])] or [domain]
                    operation.setdefault("security", _CALLER_SECURITY)
                    for tag in operation["tags"]:
                        tags.setdefault(tag, {"name": tag, "description": f"Answered by {domain}-svc."})
            paths[path] = item
    merged["tags"] = list(tags.values())
    if missing:
        merged.setdefault("info", {})["x-degraded"] = missing
    return merged


class MergedOpenApi:
    """Builds and briefly caches the merged document."""

    def __init__(self, app: FastAPI, upstreams: Upstreams, *, cache_s: float) -> None:
        self.app = app
        self.upstreams = upstreams
        self.cache_s = cache_s
        self._cached: tuple[dict[str, Any], float] | None = None
        self._lock = asyncio.Lock()

    async def _fetch(self, domain: str) -> dict[str, Any] | None:
        try:
            return await self.upstreams.get_json(domain, "/openapi.json", identity=None)
        except (UpstreamUnavailable, UpstreamError):
            return None

    async def document(self) -> dict[str, Any]:
        """The merged document (rebuilt when older than the cache time or incomplete)."""
        cached = self._cached
        if cached is not None and time.monotonic() - cached[1] < self.cache_s:
            return cached[0]
        async with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[1] < self.cache_s:
                return cached[0]
            domains = list(self.upstreams.clients)
            fetched = await asyncio.gather(*(self._fetch(d) for d in domains))
            services = {d: doc for d, doc in zip(domains, fetched, strict=True) if doc is not None}
            missing = [d for d in domains if d not in services]
            document = merge_documents(self.app.openapi(), services, missing)
            if not missing:
                self._cached = (document, time.monotonic())
            return document


def openapi_router(title: str) -> APIRouter:
    """`/openapi.json` (merged) and `/docs` (Swagger UI over it)."""
    router = api_router(include_in_schema=False)

    @router.get("/openapi.json")
    async def merged_openapi(request: Request) -> JSONResponse:
        """The merged OpenAPI document of the gateway and every service."""
        return JSONResponse(await request.app.state.runtime.openapi.document())

    @router.get("/docs")
    async def docs() -> HTMLResponse:
        """Swagger UI over the merged document; log in with the Authorize button."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{title} — API", oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @router.get("/docs/oauth2-redirect")
    async def oauth2_redirect() -> HTMLResponse:
        """Swagger UI's OAuth2 redirect page."""
        return get_swagger_ui_oauth2_redirect_html()

    return router
