"""Every table of the gateway, imported in one place for migrations and tests."""

from gateway.accounts.models import User
from gateway.apikeys.models import ApiKey

__all__ = ["ApiKey", "User"]
