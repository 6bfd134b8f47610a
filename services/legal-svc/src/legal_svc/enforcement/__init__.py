"""Comprehensive administrative enforcement (综合行政执法): certified officers, campaigns, inspections."""
