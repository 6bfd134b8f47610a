"""Public notice pages under `/notices`: the monthly points notice, appraisal results, village rules.

Rendered on the server from the services' public data (names only, never personal data),
laid out for one A4 sheet, open to anyone without a login (rate-limited per address).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from gateway.callers import directory
from gateway.proxy import UpstreamError, UpstreamUnavailable
from shared.identity import Identity, Role
from shared.local_time import PERIOD_PATTERN, SHANGHAI
from shared.routing import api_router

router = api_router(prefix="/notices", tags=["public notice pages"])

templates = Environment(loader=PackageLoader("gateway", "templates"), autoescape=select_autoescape(["html"]), enable_async=False)
# The gateway reads public data as itself; the services still decide what is public.
PUBLIC_READER = Identity(subject="gateway-public-pages", name="gateway", role=Role.SERVICE)
APPRAISAL_KINDS = {"civilised_household": "星级文明户评定", "civilised_village": "文明村评定"}
RESULT_STATUSES = {"nominated": "候选", "awarded": "授予", "not_awarded": "未授予", "withdrawn": "撤回", "revoked": "撤销"}
_HTML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "the printable page"},
    404: {"content": {"text/html": {}}, "description": "no such notice"},
    503: {"content": {"text/html": {}}, "description": "the service behind the page is unavailable"},
}


def _month_label(period: str) -> str:
    year, month = period.split("-")
    return f"{year}年{int(month)}月"


def _day_label(value: date | str) -> str:
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.year}年{day.month}月{day.day}日"


def _moment_label(value: str) -> str:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(SHANGHAI)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _page(name: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "public, max-age=60", **(headers or {})})


async def _public_data(request: Request, domain: str, path: str, what: str) -> dict[str, Any] | HTMLResponse:
    """The service's public data, or the page that says why there is none."""
    directory(request).limit_anonymous(request)
    try:
        return await request.app.state.runtime.upstreams.get_json(domain, path, identity=PUBLIC_READER, request=request)
    except UpstreamUnavailable:
        return _page("unavailable.html", 503, {"Retry-After": "30", "Cache-Control": "no-store"},
                     heading=what, message="服务暂时不可用，请稍后再试。")
    except UpstreamError as exc:
        if exc.status == 404:
            return _page("unavailable.html", 404, {"Cache-Control": "no-store"}, heading=what, message="未找到该公示。")
        return _page("unavailable.html", 503, {"Retry-After": "30", "Cache-Control": "no-store"},
                     heading=what, message="服务暂时不可用，请稍后再试。")


@router.get("/points/{branch_unit_id}/{period}", response_class=HTMLResponse, responses=_HTML_RESPONSES,
            summary="Monthly points notice (printable)")
async def points_notice(
    branch_unit_id: str, period: Annotated[str, Path(pattern=PERIOD_PATTERN, description="YYYY-MM")], request: Request
) -> HTMLResponse:
    """一月一公示: a village party branch's monthly points — rank, name, points and what for — with the
    objection deadline, as one A4 page for the bulletin board."""
    notice = await _public_data(request, "points", f"/api/v1/points/public/notices/{branch_unit_id}/{period}", "党员积分公示")
    if isinstance(notice, HTMLResponse):
        return notice
    return _page(
        "points_notice.html",
        notice=notice,
        month_label=_month_label(notice["period"]),
        deadline_label=_moment_label(notice["objection_deadline"]),
        opened_label=_moment_label(notice["opened_at"]).split(" ")[0],
    )


@router.get("/appraisals/{appraisal_id}", response_class=HTMLResponse, responses=_HTML_RESPONSES,
            summary="Appraisal results (printable)")
async def appraisal_results(appraisal_id: str, request: Request) -> HTMLResponse:
    """一创多评: the results of an appraisal (star-rated civilised households, civilised villages)."""
    appraisal = await _public_data(request, "points", f"/api/v1/points/public/appraisals/{appraisal_id}", "评定结果公示")
    if isinstance(appraisal, HTMLResponse):
        return appraisal
    deadline = appraisal.get("objection_deadline")
    return _page(
        "appraisal_results.html",
        appraisal=appraisal,
        kind_label=APPRAISAL_KINDS.get(appraisal.get("kind"), "评定"),
        status_labels=RESULT_STATUSES,
        deadline_label=_moment_label(deadline) if deadline else None,
    )


@router.get("/villages/{unit_id}/rules", response_class=HTMLResponse, responses=_HTML_RESPONSES,
            summary="A village's current rules (printable)")
async def village_rules(unit_id: str, request: Request) -> HTMLResponse:
    """村规民约: the village's rules in force, as published."""
    rules = await _public_data(request, "grid", f"/api/v1/grid/public/villages/{unit_id}/rules", "村规民约")
    if isinstance(rules, HTMLResponse):
        return rules
    return _page("village_rules.html", rules=rules, effective_label=_day_label(rules["effective_on"]))
