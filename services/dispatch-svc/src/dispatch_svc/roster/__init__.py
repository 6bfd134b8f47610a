"""The roster: households, people, party members and liaison links, copied from grid-svc's events."""
