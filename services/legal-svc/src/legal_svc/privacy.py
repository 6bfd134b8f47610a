"""Shapes of personal data legal-svc accepts; masking is shared by every service (shared.personal_data)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

# Shapes of personal data accepted on input (pydantic enforces these wherever the type is used).
IdNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{17}[0-9Xx]$")]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9+\- ]{5,20}$")]
