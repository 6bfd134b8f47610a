"""A person's work in dispatch: the orders assigned to them and the lectures they gave."""
