"""`Idempotency-Key` on creating POSTs: a retried request gets the first answer, not a second record.

The key, a fingerprint of the request and the response are stored in the same transaction as
the record created, so a crash can never leave one without the other. The same key with a
different request answers 409. A key is kept a week (`IDEMPOTENCY_KEEP_HOURS`, shared.retention).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.database import Database
from shared.identity import Identity
from shared.problems import Problem


def idempotency_table(metadata: MetaData) -> Table:
    """Stored answers to creating requests, by caller and key."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("caller", String(100), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Index("ix_idempotency_keys_created_at", "created_at"),  # the retention's range (shared.retention)
    )


class Idempotency:
    """Runs a creating request once per `Idempotency-Key` (or every time without one)."""

    def __init__(self, request: Request, key: str | None) -> None:
        self.request = request
        self.key = key

    async def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(self.request.method.encode())
        digest.update(self.request.url.path.encode())
        digest.update(await self.request.body())
        return digest.hexdigest()

    async def run(
        self,
        database: Database,
        table: Table,
        identity: Identity,
        create: Callable[[AsyncSession], Awaitable[BaseModel]],
        *,
        status_code: int = 201,
    ) -> JSONResponse:
        """Create in one transaction and answer `status_code` with the created model."""
        if self.key is None:
            async with database.transaction() as session:
                created = await create(session)
            return JSONResponse(created.model_dump(mode="json"), status_code=status_code)
        fingerprint = await self._fingerprint()
        for _ in range(2):
            try:
                async with database.transaction() as session:
                    stored = (
                        await session.execute(
                            select(table).where(table.c.caller == identity.subject, table.c.key == self.key)
                        )
                    ).first()
                    if stored is not None:
                        return _replay(stored, fingerprint)
                    created = await create(session)
                    body = created.model_dump(mode="json")
                    await session.execute(
                        table.insert().values(
                            caller=identity.subject,
                            key=self.key,
                            fingerprint=fingerprint,
                            status_code=status_code,
                            body=json.dumps(body, ensure_ascii=False),
                            created_at=datetime.now(UTC),
                        )
                    )
                return JSONResponse(body, status_code=status_code)
            except IntegrityError:
                continue  # a concurrent request with the same key won; replay its answer
        raise Problem(409, "conflict", "concurrent requests with the same Idempotency-Key")


def _replay(stored, fingerprint: str) -> JSONResponse:  # noqa: ANN001 - a row
    if stored.fingerprint != fingerprint:
        raise Problem(409, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
    return JSONResponse(json.loads(stored.body), status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})


async def _idempotency(  # async: called inline, not in a worker thread
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Retry-safe key: the same key returns the first answer (kept a week by default)"),
    ] = None,
) -> Idempotency:
    return Idempotency(request, idempotency_key)


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
