"""Fetching the sections of a composed view concurrently, and naming the ones that failed.

Each fetch is one GET to one service and may fill several sections (a service's summary answers
what would otherwise take several calls: every call costs the service and the gateway far more
than the query behind it). A section whose service is down, slow, refuses the caller or lacks the
endpoint is left empty and named in `degraded`; the view still answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field

from gateway.proxy import UpstreamError, Upstreams, UpstreamUnavailable
from shared.identity import Identity, Role
from shared.problems import not_found


class DegradedSection(BaseModel):
    """A part of a composed answer that is missing, and why."""

    section: str = Field(description="the field left empty (null)")
    service: str = Field(description="the service that should have answered")
    reason: str = Field(description="unavailable, timed out, circuit open, not provided, forbidden, or the status it answered")


def total_of(page: dict[str, Any]) -> int:
    """The `total` of a paginated answer."""
    return int(page["total"])


def page_of(page: dict[str, Any]) -> dict[str, Any]:
    """A paginated answer cut to its items and total."""
    return {"total": int(page["total"]), "items": page["items"]}


def pages_as(**sections: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A shape for an answer holding several pages: each section (keyword) its page (value), cut by `page_of`."""
    return lambda answer: {section: page_of(answer[key]) for section, key in sections.items()}


def items_of(page: dict[str, Any]) -> list[Any]:
    """The items of a paginated answer."""
    return list(page["items"])


def as_is(value: Any) -> Any:
    """The answer unchanged."""
    return value


@dataclass(frozen=True)
class Fetch:
    """One section: GET `path` on `domain`'s service, then `shape` the answer."""

    section: str
    domain: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    shape: Callable[[Any], Any] = as_is
    # A 404 here means the view's subject is unknown or outside scope: the view answers 404.
    subject: bool = False
    # False while the service offers no such query: reported as "not provided" without a call
    # (a query parameter a service does not know is ignored, which would answer the wrong question).
    provided: bool = True
    missing_reason: str = "not provided"
    # The view's sections this answer fills, each named in `degraded` when it fails (default: `section`).
    covers: tuple[str, ...] = ()

    @property
    def sections(self) -> tuple[str, ...]:
        """The sections left empty when this fetch fails."""
        return self.covers or (self.section,)


def _reason(error: UpstreamError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    if error.status == 404 and body.get("detail") in (None, "Not Found"):
        return "not provided"  # the service has no such endpoint (yet)
    if error.status in (401, 403):
        return "forbidden"
    return f"answered {error.status}"


class Composer:
    """Runs a view's fetches concurrently on behalf of one caller."""

    def __init__(self, request: Request, identity: Identity) -> None:
        self.request = request
        self.identity = identity
        self.upstreams: Upstreams = request.app.state.runtime.upstreams
        self.degraded: list[DegradedSection] = []

    def _allowed(self, domain: str) -> bool:
        return self.identity.role != Role.SYSTEM or domain in self.identity.rights

    def _degrade(self, fetch: Fetch, reason: str) -> None:
        self.degraded.extend(DegradedSection(section=section, service=fetch.domain, reason=reason) for section in fetch.sections)

    async def _one(self, fetch: Fetch) -> Any:
        if not fetch.provided:
            self._degrade(fetch, fetch.missing_reason)
            return None
        if not self._allowed(fetch.domain):
            self._degrade(fetch, "forbidden")
            return None
        params = {k: v for k, v in fetch.params.items() if v is not None}
        try:
            answer = await self.upstreams.get_json(
                fetch.domain, fetch.path, identity=self.identity, params=params, request=self.request
            )
            return fetch.shape(answer)
        except UpstreamUnavailable as exc:
            reason = exc.reason
        except UpstreamError as exc:
            if fetch.subject and exc.status == 404 and _reason(exc) != "not provided":
                raise not_found(fetch.section) from exc
            reason = _reason(exc)
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"unexpected answer ({type(exc).__name__})"
        self._degrade(fetch, reason)
        return None

    async def run(self, fetches: list[Fetch]) -> dict[str, Any]:
        """Every section's shaped answer (None where degraded), fetched at once."""
        results = await asyncio.gather(*(self._one(f) for f in fetches))
        return {f.section: result for f, result in zip(fetches, results, strict=True)}
