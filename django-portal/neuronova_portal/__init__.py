"""Wiring: the NeuroNova portal's Django project (settings, URLs, WSGI, Celery app)."""
