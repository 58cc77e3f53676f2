"""Pure: the AI pipeline side of the plugin (issue 4): change log -> durable jobs -> Celery.

``entry.py`` calls :func:`neuronova_plugin.ai.service.build` and registers the routes and the
background loop; nothing here imports ``orthanc``.
"""
