"""Deeds reported by other services' events, credited to the ledger exactly once."""
