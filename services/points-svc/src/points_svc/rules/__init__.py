"""Scoring rules: each town's catalogue of deeds and deductions, with points and caps."""
