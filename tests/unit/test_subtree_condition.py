"""Subtree conditions: the literal and the named-parameter forms select the same paths, special characters included;
a list covers a town by its id and any other subtree by its path."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect

from shared.scope import NOWHERE, in_named_subtree, in_subtree, list_place

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


def test_a_list_covers_a_town_by_its_id_and_any_other_subtree_by_its_path():
    assert list_place(None) == (None, {})
    assert list_place("/c/") == ("subtree", {"subtree": "/c/"})
    assert list_place("/c/t/") == ("town", {"town_unit_id": "t"})
    assert list_place("/c/t/v/") == ("subtree", {"subtree": "/c/t/v/"})
    assert list_place(NOWHERE) == ("subtree", {"subtree": NOWHERE})  # an unknown scope unit still lists nothing
