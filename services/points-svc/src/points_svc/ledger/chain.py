"""The hash chain: sha256 over an entry's canonical JSON and the previous hash of its branch.

Any change to a stored entry — points, member, dates, text, order — changes its hash, and so
breaks the link to the next entry; re-walking the chain finds the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from shared.local_time import as_utc

# The fields the hash covers, in a fixed order (adding one is a new chain version).
HASHED_FIELDS = (
    "id", "branch_unit_id", "branch_seq", "unit_path", "member_id", "person_id", "member_name", "rule_id", "rule_code",
    "category", "points", "occurred_on", "period", "original_period", "description", "evidence", "recorded_by",
    "source_kind", "source_ref", "source_event_id", "reverses_entry_id", "reason", "created_at",
)


def _canonical_value(value: object) -> object:
    if isinstance(value, datetime):
        return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value"):  # StrEnum members hash as their value
        return value.value
    if isinstance(value, list):
        return [str(v) for v in value]
    return value


def canonical_json(fields: dict[str, object]) -> bytes:
    """The entry's hashed fields as compact, key-sorted UTF-8 JSON."""
    data = {name: _canonical_value(fields.get(name)) for name in HASHED_FIELDS}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(fields: dict[str, object], prev_hash: str) -> str:
    """sha256 of the previous hash followed by the entry's canonical JSON."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode())
    digest.update(canonical_json(fields))
    return digest.hexdigest()
