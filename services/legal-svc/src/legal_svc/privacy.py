"""Masking of personal data (names, phones, ID numbers) for lists, exports and summaries."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints


def mask_name(name: str | None) -> str | None:
    """Keep the family name: 张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    """13812341234 → 138****1234; short numbers keep only their last two digits."""
    if not phone:
        return phone
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(0, len(phone) - 2) + phone[-2:]


def mask_id_number(id_number: str | None) -> str | None:
    """140822199001011234 → 1408**********1234."""
    if not id_number:
        return id_number
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def mask_text(text: str | None) -> str | None:
    """Free text that may name people (addresses): only its first two characters stay."""
    if not text:
        return text
    return text[:2] + "****"


# Shapes of personal data accepted on input (pydantic enforces these wherever the type is used).
IdNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{17}[0-9Xx]$")]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9+\- ]{5,20}$")]
