"""Star ratings (评星定级) from yearly and quarterly points, rankings and award candidates."""
