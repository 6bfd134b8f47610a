"""`GET /api/v1/legal/exports/…csv`: masked CSV exports of cases and consultations in scope.

An export leaves the platform's control, so it is masked for every role (the audited case read
is the only way to a full case file) and capped in size; filters match the list endpoints.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from legal_svc.advisers import service as advisers
from legal_svc.cases import service as cases
from legal_svc.cases.models import CaseCategory, CaseStatus
from legal_svc.db import grid
from legal_svc.periods import PeriodDep
from shared.identity import CurrentIdentity
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/legal/exports", tags=["exports"])

MAX_ROWS = 5000
Under = Annotated[str | None, Query(max_length=26, description="only records in this unit's subtree")]
CSV_RESPONSE = {200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a BOM (opens in Excel)"}}


def _csv(header: list[str], rows: list[list[object]], filename: str) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel reads UTF-8 Chinese text only with a BOM
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/cases.csv", response_class=Response, responses=CSV_RESPONSE, summary="Export mediation cases (masked)")
async def export_cases(
    db: DatabaseDep,
    identity: CurrentIdentity,
    period: PeriodDep,
    under: Under = None,
    status: CaseStatus | None = None,
    category: CaseCategory | None = None,
) -> Response:
    """Cases in scope registered in the period (at most 5000, newest first): numbers, status, outcome,
    amounts and masked party names; never facts, ID numbers or phones."""
    subtree = await grid.list_subtree(db, identity, under)  # the caller's scope, or `under` inside it
    shape, params = cases.list_cases_query(
        subtree=subtree, status=status, category=category, risk_level=None, outcome=None,
        start=period.start, end=period.end, confirmation_window_open=None, number=None,
    )
    async with db.session() as session:
        rows = (await session.execute(cases.cases_statement(*shape).limit(MAX_ROWS), params)).scalars().all()
        items = await cases.summaries(session, rows)
    header = ["number", "unit_id", "category", "status", "outcome", "risk_level", "registered_on", "concluded_on",
              "amount_in_dispute_fen", "recovered_fen", "joint", "parties", "mediator_affiliations"]
    body = [
        [c.number, c.unit_id, c.category.value, c.status.value, c.outcome or "", c.risk_level.value, c.registered_on,
         c.concluded_on or "", c.amount_in_dispute_fen, c.recovered_fen, int(c.joint),
         "；".join(f"{p.role.value}:{p.name}" for p in c.parties), "；".join(a.value for a in c.mediator_affiliations)]
        for c in items
    ]
    return _csv(header, body, "cases.csv")


@router.get("/consultations.csv", response_class=Response, responses=CSV_RESPONSE, summary="Export consultations (masked)")
async def export_consultations(db: DatabaseDep, identity: CurrentIdentity, period: PeriodDep, under: Under = None) -> Response:
    """Consultations in scope asked in the period (at most 5000, newest first), askers masked."""
    async with db.session() as session:
        statement = await advisers.list_consultations_query(
            session, identity=identity, under=under, adviser_id=None, category=None, start=period.start, end=period.end,
            follow_up_pending=None,
        )
        rows = (await session.execute(statement.limit(MAX_ROWS))).scalars().all()
    items = [advisers.consultation_public(c, full=False) for c in rows]
    header = ["id", "asked_on", "unit_id", "adviser_id", "category", "asker_name", "asker_phone", "question", "answer", "followed_up_on"]
    body = [
        [c.id, c.asked_on, c.unit_id, c.adviser_id, c.category.value, c.asker_name, c.asker_phone or "", c.question, c.answer, c.followed_up_on or ""]
        for c in items
    ]
    return _csv(header, body, "consultations.csv")
