"""Dated role assignments on units: the 1+1+1+N team of each grid, cadres, volunteers."""
