"""Every request gets a request id and a W3C trace context before anything else sees it.

The gateway is where a trace starts when the caller sent none: the ids are put into the
request's headers, so the logging middleware binds them and the proxy passes them on.
"""

from __future__ import annotations

import os
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.ids import new_id

_TRACEPARENT = re.compile(rb"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


class TraceContextMiddleware:
    """Adds `x-request-id` and `traceparent` to requests that lack them (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            has_id = has_trace = False
            for name, value in scope["headers"]:
                if name == b"x-request-id" and value:
                    has_id = True
                elif name == b"traceparent" and _TRACEPARENT.match(value):
                    has_trace = True
            if not (has_id and has_trace):
                headers = [(n, v) for n, v in scope["headers"] if (n != b"x-request-id" or has_id) and (n != b"traceparent" or has_trace)]
                if not has_id:
                    headers.append((b"x-request-id", new_id().encode()))
                if not has_trace:
                    headers.append((b"traceparent", f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01".encode()))
                scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
