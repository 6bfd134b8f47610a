"""Events published by points-svc on `points.events`."""
