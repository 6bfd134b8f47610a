"""Personal data: validating Chinese resident ID numbers and phones, and masking them in answers.

Every service masks the same way: lists, exports and summaries show masked values; whole values
go only to roles that need them, as each service decides.
"""

from __future__ import annotations

import re
from datetime import date

ID_NUMBER_PATTERN = re.compile(r"^\d{17}[\dX]$")
PHONE_PATTERN = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number_check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise_id_number(value: str) -> str:
    """Upper-case and validate an 18-character resident ID number (format, birth date, check digit)."""
    value = value.strip().upper()
    if not ID_NUMBER_PATTERN.match(value):
        raise ValueError("ID number must be 17 digits followed by a digit or X")
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise ValueError("ID number holds an impossible birth date") from exc
    if id_number_check_digit(value[:17]) != value[17]:
        raise ValueError("ID number check digit does not match")
    return value


def normalise_phone(value: str) -> str:
    """Strip spaces and validate a mobile (11 digits from 1) or landline number."""
    value = re.sub(r"[\s]", "", value)
    if not PHONE_PATTERN.match(value):
        raise ValueError("phone must be an 11-digit mobile number or a landline such as 0359-1234567")
    return value


def mask_id_number(value: str | None) -> str | None:
    """1408**********1234: the region prefix and the last four stay."""
    if not value:
        return value
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_phone(value: str | None) -> str | None:
    """138****1234: the operator prefix and the last four stay."""
    if not value:
        return value
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def mask_name(name: str | None) -> str | None:
    """Keep the family name: 张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_text(text: str | None) -> str | None:
    """Free text that may name people (addresses): only its first two characters stay."""
    if not text:
        return text
    return text[:2] + "****"
