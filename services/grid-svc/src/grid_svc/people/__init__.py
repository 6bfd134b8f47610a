"""People of the registry and their membership of households."""
