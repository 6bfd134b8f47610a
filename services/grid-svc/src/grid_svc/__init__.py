"""grid-svc: the authoritative registry of the grid tree and the people on it."""
