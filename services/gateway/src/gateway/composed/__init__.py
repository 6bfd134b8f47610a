"""Views composed from several services, fetched concurrently, degrading to partial answers."""
