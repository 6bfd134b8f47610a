"""Households, kept from grid-svc's events as appraisal candidates (names and addresses only)."""
