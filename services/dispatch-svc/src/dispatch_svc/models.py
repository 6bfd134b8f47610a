"""Every table of dispatch-svc, imported in one place for migrations and tests."""
