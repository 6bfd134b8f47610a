"""legal-svc: legal advisers, consultations, mediation cases, enforcement, publicity and patrols."""
