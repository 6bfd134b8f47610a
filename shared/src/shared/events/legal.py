"""Events published by legal-svc on `legal.events`."""
