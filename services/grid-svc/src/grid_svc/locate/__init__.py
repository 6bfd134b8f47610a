"""Locate: the micro grid whose boundary contains a point."""
