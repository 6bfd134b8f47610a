"""gateway: the one public entry to the platform."""
