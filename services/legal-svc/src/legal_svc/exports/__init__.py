"""CSV exports of the legal ledgers (for spreadsheets and archives); personal data is always masked."""
