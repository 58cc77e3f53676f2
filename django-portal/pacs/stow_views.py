"""Wiring: ``POST /api/pacs/dicom-web/studies`` — STOW-RS for radiologists (edited SEG, SR).

The request is audited before anything is stored (no audit, no store: 503), then each instance
is checked (pacs.stow), stored through the archive client and audited on its own. An edited SEG
is remembered with the volumes counted from its pixels (clinical.seg_volumes) and the radiologist
who stored it as its content creator; the study's mirror is refreshed.
"""

from __future__ import annotations

import io
import json
import logging
from contextlib import suppress
from dataclasses import dataclass

import pydicom
from archive import client as archive
from archive.orthanc import OrthancError
from audit import services as audit
from authz.drf import credential_key, principal_of
from authz.identity import StudyRef
from authz.principal import Principal
from authz.wiring import authoriser
from clinical import review_services, seg_volumes
from clinical import selectors as clinical_selectors
from clinical import services as clinical_services
from clinical.models import EditedSegmentation
from common.metrics import STOW_INSTANCES
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.views import APIView

from pacs import stow

log = logging.getLogger(__name__)
STORING_ROLE = "radiologist"


@dataclass(frozen=True, slots=True)
class _Received:
    outcome: stow.Outcome
    orthanc_study_id: str = ""


def _refuse(request: Request, principal: Principal, code: int, why: str, **at: str) -> None:
    audit.record_for(
        principal,
        request._request,
        action="stow",
        allowed=False,
        status_code=code,
        detail=why,
        study_uid=at.get("study_uid", "")[:64],
        target=at.get("target", "")[:300],
    )


def _instance(ds: Dataset) -> stow.Instance:
    return stow.Instance(
        sop_class_uid=str(ds.get("SOPClassUID", "")),
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
        study_uid=str(ds.get("StudyInstanceUID", "")),
        series_uid=str(ds.get("SeriesInstanceUID", "")),
        patient_id=str(ds.get("PatientID", "")),
        referenced_series=seg_volumes.referenced_series(ds),
    )


def _target(request: Request, principal: Principal, study_uid: str) -> StudyRef | None:
    """The exact study the UID stands for, when the portal knows it and the caller may read
    it (a study only Orthanc knows is refused: nothing is filed beside an unmirrored study)."""
    if not study_uid:
        return None
    decision = authoriser().may_read(
        cache_key=credential_key(request), principal=principal, study_uid=study_uid
    )
    return decision.study if decision.allowed else None


def _facts(ref: StudyRef, instance: stow.Instance) -> stow.Target:
    orthanc = archive.orthanc()
    series = orthanc.study_series(ref.orthanc_study_id)
    uid_of = {
        str(s.get("ID", "")): str((s.get("MainDicomTags") or {}).get("SeriesInstanceUID", ""))
        for s in series
    }
    same_sop = [
        uid_of.get(str(item.get("ParentSeries", "")), "?")
        for item in orthanc.study_instances(ref.orthanc_study_id)
        if (item.get("MainDicomTags") or {}).get("SOPInstanceUID") == instance.sop_instance_uid
    ]
    edited = EditedSegmentation.objects.filter(study__orthanc_study_id=ref.orthanc_study_id)
    elsewhere = (
        EditedSegmentation.objects.filter(sop_instance_uid=instance.sop_instance_uid)
        .exclude(study__orthanc_study_id=ref.orthanc_study_id, series_uid=instance.series_uid)
        .exists()
    )
    return stow.Target(
        patient_id=ref.patient_id,
        series_uids=frozenset(uid_of.values()) - {""},
        edited_series_uids=frozenset(edited.values_list("series_uid", flat=True)),
        sop_taken=elsewhere or any(uid != instance.series_uid for uid in same_sop),
    )


def _receive(request: Request, principal: Principal, blob: bytes) -> _Received:
    try:
        ds = pydicom.dcmread(io.BytesIO(blob))
        instance = _instance(ds)
    except (InvalidDicomError, ValueError, TypeError, AttributeError, EOFError, KeyError) as exc:
        _refuse(request, principal, 409, f"unreadable instance: {exc}"[:300])
        return _Received(stow.Outcome("", "", stow.Failure.CANNOT_UNDERSTAND))
    ref = _target(request, principal, instance.study_uid)
    try:
        return _checked_and_stored(request, principal, ds=ds, blob=blob, instance=instance, ref=ref)
    except OrthancError:
        log.exception("STOW of %s: the archive failed", instance.sop_instance_uid)
        _refuse(request, principal, 502, "the archive failed", study_uid=instance.study_uid)
        failure = stow.Failure.PROCESSING_FAILURE
        return _Received(stow.Outcome(instance.sop_class_uid, instance.sop_instance_uid, failure))


def _checked_and_stored(
    request: Request,
    principal: Principal,
    *,
    ds: Dataset,
    blob: bytes,
    instance: stow.Instance,
    ref: StudyRef | None,
) -> _Received:
    verdict = stow.check(instance, _facts(ref, instance) if ref else None)
    volumes: dict[str, float] = {}
    if verdict.failure is None and instance.sop_class_uid == stow.SEG_STORAGE:
        try:
            volumes = seg_volumes.segment_volumes_ml(ds)
        except seg_volumes.SegUnreadable as exc:
            verdict = stow.Verdict(stow.Failure.DOES_NOT_MATCH_SOP_CLASS, str(exc))
    refused = stow.Outcome(instance.sop_class_uid, instance.sop_instance_uid, verdict.failure)
    where = {"study_uid": instance.study_uid, "target": f"sop {instance.sop_instance_uid}"}
    if verdict.failure is not None or ref is None:
        _refuse(request, principal, 409, verdict.reason, **where)
        return _Received(refused)
    status, answer = archive.orthanc().store(io.BytesIO(blob))
    if status != 200 or answer.get("ParentStudy") != ref.orthanc_study_id:
        log.error("STOW of %s: Orthanc answered %s %s", instance.sop_instance_uid, status, answer)
        _refuse(request, principal, 502, f"the archive did not store it ({status})", **where)
        return _Received(
            stow.Outcome(
                instance.sop_class_uid, instance.sop_instance_uid, stow.Failure.PROCESSING_FAILURE
            )
        )
    if instance.sop_class_uid == stow.SEG_STORAGE:
        study = clinical_selectors.study_by_orthanc_id(orthanc_study_id=ref.orthanc_study_id)
        if study is not None:
            review_services.record_edited_seg(
                study=study,
                series_uid=instance.series_uid,
                sop_instance_uid=instance.sop_instance_uid,
                orthanc_instance_id=str(answer.get("ID", "")),
                referenced_series_uids=sorted(instance.referenced_series),
                volumes_ml=volumes,
                content_creator=str(ds.get("ContentCreatorName", "") or principal.username),
                created_by=principal.username,
            )
    audit.record_for(
        principal,
        request._request,
        action="stow",
        allowed=True,
        status_code=200,
        detail=f"stored {instance.series_uid}",
        **where,
        required=False,
    )
    url = request.build_absolute_uri(
        f"/api/pacs/dicom-web/studies/{instance.study_uid}/series/{instance.series_uid}"
        f"/instances/{instance.sop_instance_uid}"
    )
    stored = stow.Outcome(instance.sop_class_uid, instance.sop_instance_uid, None, url)
    return _Received(stored, ref.orthanc_study_id)


class StowView(APIView):
    """PS3.18 STOW-RS: ``multipart/related; type="application/dicom"``; answers 200 (all
    stored), 202 (some), 409 (none) with the DICOM JSON of Referenced/Failed SOP Sequences."""

    parser_classes = ()  # the body is read whole and split by pacs.stow.parts

    @extend_schema(
        request={"multipart/related": bytes},
        responses={
            200: OpenApiResponse(description="application/dicom+json: every instance stored"),
            202: OpenApiResponse(description="some stored, FailedSOPSequence names the rest"),
            409: OpenApiResponse(description="none stored (FailureReason per instance)"),
        },
    )
    def post(self, request: Request) -> HttpResponse:
        principal = principal_of(request)
        if principal.role != STORING_ROLE:
            _refuse(request, principal, 403, f"role {principal.role} may not store")
            raise PermissionDenied("only radiologists store through STOW-RS")
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            _refuse(request, principal, 413, "body too large")
            return _json({"detail": "body too large"}, 413)
        audit.record_for(
            principal,
            request._request,
            action="stow",
            allowed=True,
            detail="started",
        )  # fails closed: nothing is stored unaudited
        try:
            blobs = stow.parts(request._request.body, request.content_type or "")
        except stow.BodyRefused as refused:
            _refuse(request, principal, refused.status, refused.reason)
            return _json({"detail": refused.reason}, refused.status)
        received = [_receive(request, principal, blob) for blob in blobs]
        for item in received:
            STOW_INSTANCES.labels(_outcome(item.outcome.failure)).inc()
        for orthanc_study_id in sorted({r.orthanc_study_id for r in received} - {""}):
            with suppress(OrthancError):  # the study_stable task catches up otherwise
                clinical_services.sync_study(
                    orthanc=archive.orthanc(), orthanc_study_id=orthanc_study_id
                )
        status, body = stow.response(r.outcome for r in received)
        return HttpResponse(json.dumps(body), status=status, content_type="application/dicom+json")


def _outcome(failure: stow.Failure | None) -> str:
    if failure is None:
        return "stored"
    return "failed" if failure is stow.Failure.PROCESSING_FAILURE else "refused"


def _json(body: dict[str, str], status: int) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")
