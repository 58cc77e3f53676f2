"""Wiring: portal users, roles, clinician-to-patient assignments and JWT authentication."""
