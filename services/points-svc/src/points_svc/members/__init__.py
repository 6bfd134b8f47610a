"""The roster of party members, kept from grid-svc's member events."""
