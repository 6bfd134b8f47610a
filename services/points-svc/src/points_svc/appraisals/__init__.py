"""Appraisals (一创多评): star-rated civilised households and civilised villages."""
