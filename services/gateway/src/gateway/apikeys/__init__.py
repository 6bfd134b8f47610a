"""API keys for county systems: scoped, per-domain rights, expiring, revocable, stored hashed."""
