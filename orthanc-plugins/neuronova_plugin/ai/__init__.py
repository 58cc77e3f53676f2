"""Pure: the AI pipeline side of the plugin: change log -> durable jobs -> Celery.

:func:`neuronova_plugin.plugin.register` calls :func:`neuronova_plugin.ai.service.build` and
registers the routes and the background loop; nothing here imports ``orthanc``.
"""
