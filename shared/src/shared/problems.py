"""RFC 9457 problem details: every error is `application/problem+json` with a stable ASCII code.

Titles come in Chinese (the default) or English, chosen by `Accept-Language`.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger("shared.problems")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://grassroots.example/problems/"

# code -> (Chinese title, English title)
TITLES: dict[str, tuple[str, str]] = {
    "bad_request": ("请求有误", "Bad request"),
    "validation_failed": ("请求数据校验失败", "Request validation failed"),
    "unauthenticated": ("未认证或凭据无效", "Not authenticated"),
    "forbidden": ("无权执行此操作", "Not allowed"),
    "not_found": ("资源不存在", "Not found"),
    "method_not_allowed": ("不支持该请求方法", "Method not allowed"),
    "conflict": ("与当前状态冲突", "Conflict with the current state"),
    "idempotency_key_reused": ("幂等键已用于不同的请求", "Idempotency-Key reused with a different request"),
    "payload_too_large": ("请求体过大", "Payload too large"),
    "unsupported_media_type": ("不支持的内容类型", "Unsupported media type"),
    "rate_limited": ("请求过于频繁", "Too many requests"),
    "service_unavailable": ("服务暂时不可用", "Service temporarily unavailable"),
    "internal_error": ("服务器内部错误", "Internal server error"),
}


class FieldError(BaseModel):
    """One invalid field: where it is, what is wrong."""

    loc: list[str | int]
    msg: str
    type: str


class ProblemDetail(BaseModel):
    """The body of every error response (RFC 9457)."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class Problem(Exception):
    """Raise to answer with a problem+json response."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        title: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.title = title


def not_found(what: str = "resource") -> Problem:
    """404 for a missing record, or one outside the caller's scope (its existence must not leak)."""
    return Problem(404, "not_found", f"{what} not found")


def conflict(detail: str, code: str = "conflict") -> Problem:
    """409 for a request that the current state does not allow."""
    return Problem(409, code, detail)


def unprocessable(detail: str, code: str = "validation_failed", loc: list[str | int] | None = None) -> Problem:
    """422 for a well-formed request that breaks a domain rule."""
    errors = [{"loc": loc, "msg": detail, "type": code}] if loc else None
    return Problem(422, code, detail, errors=errors)


def prefers_english(request: Request) -> bool:
    """True when Accept-Language ranks English above Chinese (Chinese is the default)."""
    header = request.headers.get("accept-language", "")
    best_lang, best_q = "zh", 0.0
    for part in header.split(","):
        pieces = part.strip().split(";")
        lang = pieces[0].strip().lower()
        q = 1.0
        for param in pieces[1:]:
            if param.strip().startswith("q="):
                try:
                    q = float(param.strip()[2:])
                except ValueError:
                    q = 0.0
        if lang and q > best_q:
            best_lang, best_q = lang, q
    return best_lang.startswith("en")


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    """Render a `Problem` in the caller's language."""
    zh, en = problem.title or TITLES.get(problem.code, TITLES["bad_request"])
    body = ProblemDetail(
        type=TYPE_BASE + problem.code,
        title=en if prefers_english(request) else zh,
        status=problem.status,
        code=problem.code,
        detail=problem.detail,
        instance=request.url.path,
        errors=[FieldError(**e) for e in problem.errors] if problem.errors else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "service_unavailable",
}


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of `app` a problem+json response."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem_response(request, Problem(422, "validation_failed", "see errors", errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(request, Problem(exc.status_code, code, detail, headers=getattr(exc, "headers", None)))

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if is_transient_database_error(exc):
            # A locked or unreachable database is a passing condition: say so; the transaction rolled back.
            log.warning("database.unavailable", error=str(exc.orig)[:300])
            return problem_response(request, _unavailable("database unavailable, retry later"))
        if is_data_exception(exc):
            # PostgreSQL refused a value the request carried (a NUL character, a number or date out of range).
            log.warning("database.value_refused", sqlstate=_sqlstate(exc))
            return problem_response(
                request, Problem(422, "validation_failed", f"a value in the request cannot be stored (SQLSTATE {_sqlstate(exc)})")
            )
        log.exception("database.error")
        return problem_response(request, Problem(500, "internal_error"))

    @app.exception_handler(ConnectionError)
    async def _connection_error(request: Request, exc: ConnectionError) -> JSONResponse:
        log.warning("dependency.unreachable", error=repr(exc))
        return problem_response(request, _unavailable("a dependency is unreachable, retry later"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.unhandled", error=repr(exc))
        return problem_response(request, Problem(500, "internal_error"))


_TRANSIENT_MARKERS = (
    "database is locked",
    "unable to open database",
    "connection refused",
    "too many connections",
    "cannot connect now",
    "the database system is starting up",
    "the database system is shutting down",
    "connection was closed",
    "server closed the connection",
    "connection is closed",
    "is not currently accepting connections",
)
# PostgreSQL's codes for the same conditions: connection exceptions, admin or crash shutdown,
# cannot connect now, too many connections, a lock not available in time.
_TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "55P03")


def is_transient_database_error(exc: DBAPIError) -> bool:
    """True for a locked or unreachable database (retry later), False for bugs such as a bad query."""
    if exc.connection_invalidated:
        return True
    if _sqlstate(exc).startswith(_TRANSIENT_SQLSTATES):
        return True
    message = str(exc.orig).lower()
    return any(marker in message for marker in _TRANSIENT_MARKERS)


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")


def is_data_exception(exc: DBAPIError) -> bool:
    """True for PostgreSQL's class 22 "data exception": a value that cannot be stored or compared, not a bug in a query."""
    return _sqlstate(exc).startswith("22")


def _unavailable(detail: str) -> Problem:
    return Problem(503, "service_unavailable", detail, headers={"Retry-After": "1"})


# Documented on every route so the OpenAPI contract shows the error shape.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ProblemDetail, "description": "Client error (problem+json)", "content": {PROBLEM_JSON: {}}},
    "5XX": {"model": ProblemDetail, "description": "Server error (problem+json)", "content": {PROBLEM_JSON: {}}},
}
