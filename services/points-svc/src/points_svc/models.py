"""Every table of points-svc, imported in one place for migrations and tests."""
