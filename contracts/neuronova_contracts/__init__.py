"""Pure, standard library only: what the three deployables agree on.

The Orthanc plugin (inside Orthanc's own Python), the inference worker and service, and the
portal each put ``contracts/`` on their path and import these modules; nothing here is copied
into them. ``tasks``: Celery task names and queues; ``jobs``: job states, job ids and the job
event (one builder, one validator); ``manifest``: the model manifest parser and the on-disk
model registry; ``matching``: which series of a study serve which of the model's inputs.
"""
