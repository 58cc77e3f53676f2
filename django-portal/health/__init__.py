"""Wiring: the /api/health endpoint and its dependency probes."""
