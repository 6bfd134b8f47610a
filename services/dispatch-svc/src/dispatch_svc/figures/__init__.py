"""Figures: the three rates (response, resolution, satisfaction) and the counts the town dashboard reads."""
