"""Opaque identifiers: ULIDs, sortable by creation time so B-tree inserts stay local."""

import os
import threading
import time
from datetime import datetime

from ulid_transform import bytes_to_ulid

_RANDOM_BITS = 80
_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, random part) of the newest id made by this process


def new_id() -> str:
    """A new opaque id (26 characters, Crockford base32, time-ordered): 48 bits of milliseconds, then 80 random
    bits from the operating system's CSPRNG, so ids cannot be guessed from one another.

    Monotonic within a process, as the ULID spec describes: an id made in the same millisecond as the one before
    it (or while the clock stepped back) takes that one's random part plus one, so ids sort in the order they were
    made and lists ordered by id keep ties in creation order.

    Every request without an id gets one, so this sits on the hot path: the bytes are encoded in C (about 1 µs,
    a seventh of building a `ulid.ULID` and printing it); the library's own `ulid_now` is not used, as it draws
    its randomness from a fast, predictable generator and is not monotonic.
    """
    global _last
    now = time.time_ns() // 1_000_000
    with _lock:
        last_ms, last_random = _last
        if now > last_ms:
            millis, random = now, int.from_bytes(os.urandom(10), "big")
        elif last_random + 1 < 1 << _RANDOM_BITS:
            millis, random = last_ms, last_random + 1
        else:  # the random part ran out within one millisecond: borrow the next one
            millis, random = last_ms + 1, int.from_bytes(os.urandom(10), "big")
        _last = (millis, random)
    return bytes_to_ulid(((millis << _RANDOM_BITS) | random).to_bytes(16, "big"))


def first_id_at(moment: datetime) -> str:
    """The smallest id `new_id` can make at `moment`: every id made before it sorts below this one."""
    millis = int(moment.timestamp() * 1000)
    return bytes_to_ulid((millis << _RANDOM_BITS).to_bytes(16, "big"))
