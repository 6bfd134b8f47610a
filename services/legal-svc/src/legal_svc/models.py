"""Every table of legal-svc, imported in one place for migrations and tests."""
