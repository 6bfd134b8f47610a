"""Open311 GeoReport v2: the same orders through the open standard, in JSON and XML."""
