"""Every table of grid-svc, imported in one place for migrations and tests."""

from grid_svc.units.models import Unit

__all__ = ["Unit"]
