"""The local platform for development: broker, migrations and the five services as processes."""
