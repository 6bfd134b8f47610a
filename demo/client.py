"""A small synchronous client of the gateway's public API, as a county system would use it.

It retries what a well-behaved client retries (429 after Retry-After, 503 and dropped
connections with a short backoff) and nothing else; every other error is raised with the
problem document the platform answered, so a failed load says exactly what was refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

RETRIES = 10


class ApiError(Exception):
    """The platform refused a request: status, problem `code` and the whole answer."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.method, self.path, self.status, self.body = method, path, status, body
        self.code = body.get("code") if isinstance(body, dict) else None
        detail = body.get("detail") if isinstance(body, dict) else body
        super().__init__(f"{method} {path} answered {status} {self.code or ''}: {detail}")


class Api:
    """One caller of the gateway: a bearer token, an API key, or nobody (logging in).

    `renew` gives a fresh bearer token when the platform refuses the current one (401): a long load outlives a
    token's life.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        renew: Callable[[], str] | None = None,
    ) -> None:
        headers = {"Accept-Language": "en"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if api_key:
            headers["X-API-Key"] = api_key
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.renew = renew

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        files: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one request (retrying 429, 503 and dropped connections, and a refused token once renewed); the
        decoded JSON answer, or ApiError."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self._send(method, path, json=json, params=params, data=data, files=files, headers=headers)
        if response.status_code == 401 and self.renew is not None:
            self.http.headers["Authorization"] = f"Bearer {self.renew()}"
            response = self._send(method, path, json=json, params=params, data=data, files=files, headers=headers)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = response.text
            raise ApiError(method, path, response.status_code, body)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _send(self, method: str, path: str, *, headers: dict[str, str], **content: Any) -> httpx.Response:
        for attempt in range(RETRIES):
            try:
                response = self.http.request(method, path, headers=headers, **content)
            except httpx.TransportError:
                if attempt == RETRIES - 1:
                    raise
                time.sleep(0.5 * (attempt + 1))
                continue
            if response.status_code in (429, 503) and attempt < RETRIES - 1:
                # Rate limits and open circuit breakers say when to come back; a busy service gets a growing pause.
                retry_after = response.headers.get("Retry-After")
                time.sleep(float(retry_after) if retry_after else min(0.5 * (attempt + 1), 5.0))
                continue
            break
        return response

    def get(self, path: str, **params: Any) -> Any:
        """GET with query parameters."""
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None, *, key: str | None = None) -> Any:
        """POST a JSON body, with an Idempotency-Key when `key` is given."""
        return self.request("POST", path, json=body, idempotency_key=key)

    def put(self, path: str, body: Any) -> Any:
        """PUT a JSON body."""
        return self.request("PUT", path, json=body)

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, page by page."""
        page = 1
        while True:
            answer = self.get(path, **params, page=page, per_page=200)
            yield from answer["items"]
            if page * answer["per_page"] >= answer["total"]:
                return
            page += 1


def login(base_url: str, username: str, password: str) -> Api:
    """Log in with the OAuth2 password flow; a client carrying the bearer token, which logs in again when the
    token is refused (expired)."""

    def access_token() -> str:
        anonymous = Api(base_url)
        try:
            answer = anonymous.request("POST", "/api/v1/auth/token", data={"username": username, "password": password})
            return answer["access_token"]
        finally:
            anonymous.close()

    return Api(base_url, token=access_token(), renew=access_token)


def eventually(what: str, probe: Callable[[], T | None], *, timeout: float = 120.0, interval: float = 0.25) -> T:
    """Poll `probe` until it returns something other than None (or False); TimeoutError naming `what` after `timeout`.

    A 404 counts as "not yet" (the record has not reached the service); any other refusal is raised.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = probe()
            if result is not None and result is not False:
                return result
        except ApiError as exc:
            if exc.status != 404:
                raise
            last_error = exc
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f}s for {what}" + (f" (last answer: {last_error})" if last_error else ""))
        time.sleep(interval)
