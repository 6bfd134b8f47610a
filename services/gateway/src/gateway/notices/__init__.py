"""Public notice pages for village bulletin boards: server-rendered, printable on A4, no login."""
