"""Pure: the AI routes' logic. POST /neuronova/seg validates and stores a SEG from the worker;
POST /neuronova/studies/{id}/reanalyze queues a new job.
"""

from __future__ import annotations

import base64
import binascii
import json
from io import BytesIO
from typing import Any

import pydicom
from neuronova_contracts.jobs import JobState, job_id
from neuronova_contracts.manifest import Manifest
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from neuronova_plugin.ai.changes import decide_study
from neuronova_plugin.ai.store import JobStore
from neuronova_plugin.host import HostError, PluginHost, Request, Response, get_json

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


class SegRejectedError(ValueError):
    """The SEG fails a check; the message goes back to the worker as a 400."""


def _lookup(host: PluginHost, uid: str, level: str) -> list[str]:
    """Orthanc ids of every resource of that level with that UID (several patients' studies may
    share a UID: Orthanc keeps them apart by PatientID)."""
    hits = json.loads(host.rest_post("/tools/lookup", uid.encode()))
    return [str(hit["ID"]) for hit in hits if hit.get("Type") == level]


def _seg_study(host: PluginHost, seg: Dataset) -> str:
    """The Orthanc study of the SEG's own patient and study (PatientID + StudyInstanceUID)."""
    uid, patient = str(seg.get("StudyInstanceUID", "")), str(seg.get("PatientID", ""))
    for study in _lookup(host, uid, "Study"):
        tags = get_json(host, f"/studies/{study}").get("PatientMainDicomTags") or {}
        if str(tags.get("PatientID", "")) == patient:
            return study
    raise SegRejectedError(f"study {uid} of the SEG's patient is not in this archive")


def _instance_in_study(host: PluginHost, study: str, sop_uid: str) -> str | None:
    """The Orthanc id of the instance with that SOP Instance UID in that exact study."""
    for instance in get_json(host, f"/studies/{study}/instances"):
        if (instance.get("MainDicomTags") or {}).get("SOPInstanceUID") == sop_uid:
            return str(instance["ID"])
    return None


def _json(data: dict[str, Any]) -> Response:
    return Response(200, json.dumps(data).encode(), "application/json")


def validate_seg(host: PluginHost, seg: Dataset) -> tuple[str, list[str]]:
    """Check SOP class, study, referenced series/instances and frame of reference.

    Returns the Orthanc study id and the Orthanc ids of the referenced series.
    """
    if str(seg.get("SOPClassUID", "")) != SEG_SOP_CLASS:
        raise SegRejectedError(f"not a Segmentation Storage object: {seg.get('SOPClassUID')}")
    study = _seg_study(host, seg)
    references = seg.get("ReferencedSeriesSequence") or []
    if not references:
        raise SegRejectedError("SEG has no ReferencedSeriesSequence")
    study_series = {
        str((s.get("MainDicomTags") or {}).get("SeriesInstanceUID", "")): s
        for s in get_json(host, f"/studies/{study}/series")
    }
    series_ids = []
    for ref in references:
        info = study_series.get(str(ref.SeriesInstanceUID))
        if info is None:
            raise SegRejectedError(
                f"referenced series {ref.SeriesInstanceUID} is not stored in the SEG's study"
            )
        series = str(info["ID"])
        stored = {
            str(get_json(host, f"/instances/{i}")["MainDicomTags"].get("SOPInstanceUID"))
            for i in info.get("Instances", [])
        }
        missing = [
            str(item.ReferencedSOPInstanceUID)
            for item in ref.get("ReferencedInstanceSequence", [])
            if str(item.ReferencedSOPInstanceUID) not in stored
        ]
        if missing:
            raise SegRejectedError(f"{len(missing)} referenced instance(s) are not stored")
        first = get_json(host, f"/instances/{info['Instances'][0]}/simplified-tags")
        if str(first.get("FrameOfReferenceUID")) != str(seg.get("FrameOfReferenceUID")):
            raise SegRejectedError("SEG frame of reference differs from its source series")
        series_ids.append(series)
    return study, series_ids


def store_seg(host: PluginHost, request: Request) -> Response:
    """Body: JSON summary with ``seg`` (base64 DICOM). Replaces a SEG with the same SOP UID."""
    try:
        body = json.loads(request.body)
        raw = base64.b64decode(body.pop("seg"), validate=True)
        seg = pydicom.dcmread(BytesIO(raw))
        study, _ = validate_seg(host, seg)
    except (ValueError, KeyError, TypeError, binascii.Error, InvalidDicomError) as exc:
        return Response.error(400, f"SEG refused: {exc}")
    if body.get("orthanc_study_id") not in (None, study):
        return Response.error(400, "SEG refused: it belongs to another study than the job's")
    replaced = _instance_in_study(host, study, str(seg.SOPInstanceUID))
    if replaced is not None:
        host.rest_delete(f"/instances/{replaced}")
    try:
        stored = json.loads(host.rest_post("/instances", raw))
    except HostError as exc:  # transient for the worker: a 5xx makes it retry
        return Response.error(503, f"SEG not stored: {exc}")
    host.log_info(f"AI: stored SEG {seg.SOPInstanceUID} for study {study}")
    return _json(
        {
            "orthanc_instance_id": stored.get("ID"),
            "orthanc_series_id": stored.get("ParentSeries"),
            "seg_series_uid": str(seg.SeriesInstanceUID),
            "replaced": replaced is not None,
        }
    )


def reanalyze(host: PluginHost, store: JobStore, model: Manifest, request: Request) -> Response:
    """Each request gets a new job id (``<orthanc study id>:<model>:<version>:r<n>``): never
    deduplicated."""
    study = request.groups[0] if request.groups else ""
    try:
        get_json(host, f"/studies/{study}")
    except HostError:
        return Response.error(404, f"unknown study {study}")
    base = job_id(study, model.model_id, model.version)
    job = f"{base}:r{store.next_reanalysis(base)}"
    messages, job, reason, _ = decide_study(host, store, model, study, force_job=job)
    store.enqueue(messages)
    if reason:
        return _json({"state": JobState.SKIPPED, "reason": reason, "job_id": job})
    return _json({"state": JobState.QUEUED, "job_id": job})
