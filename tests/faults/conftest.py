"""Fixtures of the fault tests (the helpers live in `faults.processes`, which test modules import)."""

from faults.processes import platform, world  # noqa: F401 - pytest finds fixtures by name
