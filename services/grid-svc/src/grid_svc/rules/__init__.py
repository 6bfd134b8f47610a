"""Village rules (村规民约): versioned text per village, the current version publishable as a public notice."""
