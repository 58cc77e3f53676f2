"""Wiring: WSGI entry for gunicorn.

``gunicorn neuronova_portal.wsgi -b 127.0.0.1:$DJANGO_PORT`` with PYTHONPATH=django-portal.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neuronova_portal.settings")

application = get_wsgi_application()
