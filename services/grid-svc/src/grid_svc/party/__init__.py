"""The party organisation mirrored on the grid: committees, branches, groups and their members."""
