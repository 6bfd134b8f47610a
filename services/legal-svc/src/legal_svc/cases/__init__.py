"""Disputes and people's mediation cases (人民调解): parties, mediators, sessions, outcome, follow-up, audit."""
