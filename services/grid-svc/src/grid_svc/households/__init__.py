"""Households: registered in exactly one micro grid, with dated placements when they move."""
