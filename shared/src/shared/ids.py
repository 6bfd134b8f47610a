"""Opaque identifiers: ULIDs, sortable by creation time so B-tree inserts stay local."""

from ulid import ULID


def new_id() -> str:
    """A new opaque id (26 characters, Crockford base32, time-ordered)."""
    return str(ULID())
