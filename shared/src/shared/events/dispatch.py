"""Events published by dispatch-svc on `dispatch.events`."""
