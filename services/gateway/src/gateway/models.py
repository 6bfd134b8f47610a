"""Every table of the gateway, imported in one place for migrations and tests."""

from gateway.accounts.models import User

__all__ = ["User"]
