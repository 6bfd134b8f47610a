"""Legal publicity (普法): lecturer groups, volunteer teams, legal-savvy villagers, and their events."""
