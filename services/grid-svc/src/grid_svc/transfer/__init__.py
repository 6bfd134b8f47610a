"""Roster import and export as CSV or XLSX: units, households, people, members, roles, liaisons."""
