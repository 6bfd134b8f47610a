"""Figures per unit and period: the report's rule-of-law numbers, computed from legal-svc's own records."""
