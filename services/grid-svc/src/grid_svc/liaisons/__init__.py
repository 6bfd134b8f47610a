"""Dated liaison links: party members ↔ households, cadres ↔ grids and households."""
