"""The points ledger: append-only entries, hash-chained per party branch."""
