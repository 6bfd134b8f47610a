"""Units: the nodes of the grid tree, county down to micro grid."""
