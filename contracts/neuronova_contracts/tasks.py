"""Pure: the Celery task names and queues between the deployables (docs/ARCHITECTURE.md)."""

from __future__ import annotations

from typing import Final

INFERENCE_QUEUE: Final = "inference"
PORTAL_QUEUE: Final = "portal"

# queue "inference": sent by the plugin (change log, re-analysis), run by the inference worker.
SEGMENT_STUDY: Final = "neuronova.inference.segment_study"
# queue "portal": sent by the plugin and the inference worker, run by the portal worker.
JOB_EVENT: Final = "neuronova.portal.job_event"
STUDY_ARRIVED: Final = "neuronova.portal.study_arrived"
STUDY_STABLE: Final = "neuronova.portal.study_stable"
# queue "portal": sent and run by the portal.
FHIR_SYNC_STUDY: Final = "neuronova.fhir.sync_study"
FHIR_SYNC_PENDING: Final = "neuronova.fhir.sync_pending"
