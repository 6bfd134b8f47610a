"""Live compliance reports under any unit, answered by grouped queries over the path index."""
