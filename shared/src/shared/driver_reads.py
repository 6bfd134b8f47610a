"""Hot-path reads on PostgreSQL, run by asyncpg itself with SQLAlchemy's compiled SQL and types.

SQLAlchemy's execution path costs about 90 µs of CPU per statement on top of asyncpg's own 32 µs
(context, cursor adaption, the greenlet hop, result metadata; measured in `bench/RESULTS.md`), which
was a quarter of a service's whole read by id. A statement built once at import is compiled here once,
by SQLAlchemy for the connection's own dialect, with every bind and result type's own processors; each
read then hands the SQL and its arguments to the asyncpg connection checked out from the read pool and
builds SQLAlchemy `Row`s from the records. Callers see the same rows either way (tested statement by
statement against SQLAlchemy's own execution in `tests/shared/test_database.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect, Row
from sqlalchemy.engine.result import result_tuple
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


def compile_for_driver(statement: Executable, keys: Sequence[str], dialect: Dialect) -> DriverStatement | None:
    """`statement` compiled to run here, its rows keyed by `keys` (those of SQLAlchemy's own result), or None
    when it cannot: not a SELECT, or a bind that SQLAlchemy renders per execution (a list bound to an IN, a value
    written into the SQL)."""
    if not getattr(statement, "is_select", False):
        return None
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if any(bind.expanding or bind.literal_execute for bind in compiled.binds.values()):
        return None
    return DriverStatement(statement, compiled, keys, dialect)


class DriverStatement:
    """One SELECT compiled for asyncpg: its SQL, how to build its arguments, and how to build its rows."""

    def __init__(self, statement: Executable, compiled: SQLCompiler, keys: Sequence[str], dialect: Dialect) -> None:
        self.sql = compiled.string
        self._compiled = compiled
        self._dialect = dialect
        self._names = compiled.positiontup or []
        self._bind_processors: list[Processor] = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self._names
        ]
        self._types = [column.type for column in statement.selected_columns]
        self._make_row = result_tuple(list(keys))
        self._processed: list[tuple[int, Processor]] | None = None  # known once the server has described the columns

    def arguments(self, params: Mapping[str, Any] | None) -> list[Any]:
        """The positional arguments for `params` (missing names take the statement's own bound values)."""
        values = self._compiled.construct_params(params)
        return [
            value if processor is None or value is None else processor(value)
            for value, processor in zip((values[name] for name in self._names), self._bind_processors, strict=True)
        ]

    async def describe(self, connection: Any) -> None:
        """Learn the result types from the server (once per statement): a type's result processor may depend
        on the database type it arrives as, as SQLAlchemy's own execution asks."""
        if self._processed is not None:
            return
        attributes = (await connection.prepare(self.sql)).get_attributes()
        processors = [
            type_.dialect_impl(self._dialect).result_processor(self._dialect, attribute.type.oid)
            for type_, attribute in zip(self._types, attributes, strict=True)
        ]
        # Most columns arrive as asyncpg decodes them: only the few with a processor are touched per row.
        self._processed = [(index, processor) for index, processor in enumerate(processors) if processor is not None]

    def rows(self, records: Sequence[Any]) -> list[Row]:
        """SQLAlchemy rows of asyncpg `records`, each value as SQLAlchemy's own execution would type it."""
        if not self._processed:
            return [self._make_row(record) for record in records]
        rows = []
        for record in records:
            values = list(record)
            for index, processor in self._processed:
                if values[index] is not None:
                    values[index] = processor(values[index])
            rows.append(self._make_row(values))
        return rows
