"""Accounts: users with a role and a scope unit, and the tokens they log in with."""
