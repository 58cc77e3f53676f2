"""Wiring: the audit trail of access decisions, logins, uploads and re-analyses."""
