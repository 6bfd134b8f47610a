"""The party-member roster, kept from grid-svc's member events (is a mediator a party member?)."""
