"""dispatch-svc: service orders from residents and their dispatch, micro lectures, countryside activities, Open311."""
