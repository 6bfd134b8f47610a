"""Where a unit sits in the tree, read from its materialised path.

The tree always starts at a county, and every level is the next one of its parent's, so the
second id of a path is the town and the third the village (the party branch's unit).
"""

from __future__ import annotations

from shared.scope import path_ids


def branch_of(path: str) -> tuple[str, str]:
    """(unit id, path) of the party branch a unit belongs to: its village, or the unit itself above villages."""
    ids = path_ids(path)
    kept = ids[:3] if len(ids) >= 3 else ids
    return kept[-1], "/" + "/".join(kept) + "/"


def town_path_of(path: str) -> str | None:
    """The path of the town a unit lies in."""
    ids = path_ids(path)
    return "/" + "/".join(ids[:2]) + "/" if len(ids) >= 2 else None
