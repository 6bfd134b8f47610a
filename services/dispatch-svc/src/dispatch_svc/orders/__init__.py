"""Orders (群众点单 → 派单): residents' requests and their dispatch workflow."""
