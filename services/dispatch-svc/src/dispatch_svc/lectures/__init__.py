"""Micro lectures (微讲堂): sessions by micro lecturers in fields, at checkpoints, on production lines."""
