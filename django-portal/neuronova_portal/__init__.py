"""Wiring: the NeuroNova portal's Django project (settings, URLs, WSGI, Celery app).

The Celery app is loaded with the project (Celery's Django recipe), so it is the current app in
every portal process: the apps send tasks and ping workers through ``celery.current_app`` and
never import the project package, which sits above them all.
"""

from neuronova_portal.celery import app as celery_app

__all__ = ("celery_app",)
