"""Subtree conditions: the literal and the named-parameter forms select the same paths, special characters included."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect

from shared.scope import in_named_subtree, in_subtree

PATHS = ["/a/", "/a/b/", "/a/é/", "/a0/", "/a.", "/a/b/c/", "/ab/", "/a_b/", "/a_b/x/", "/aXb/", "/5%/", "/5%/q/", "/50/", "/x!y/", "/x!y/z/", "/x!!y/"]
PATH = sa.column("path", sa.String)


def _matching(condition: sa.ColumnElement[bool], **params: str) -> list[str]:
    compiled = sa.select(PATH).select_from(sa.table("t")).where(condition).compile(dialect=sqlite_dialect.dialect())
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE t (path TEXT)")
        db.executemany("INSERT INTO t VALUES (?)", [(p,) for p in PATHS])
        values = {**compiled.params, **params}
        return sorted(r[0] for r in db.execute(str(compiled), [values[name] for name in compiled.positiontup]))


@pytest.mark.parametrize("root", ["/a/", "/a_b/", "/5%/", "/x!y/"])
def test_both_forms_select_exactly_the_subtree(root: str):
    expected = sorted(p for p in PATHS if p.startswith(root))
    assert _matching(in_subtree(PATH, root)) == expected
    assert _matching(in_named_subtree(PATH), subtree=root) == expected
