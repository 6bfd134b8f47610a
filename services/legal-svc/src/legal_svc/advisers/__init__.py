"""Legal advisers (法律顾问): village assignments with duty days, consultations and legal affairs."""
