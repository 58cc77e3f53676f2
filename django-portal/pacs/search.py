"""Wiring: QIDO-RS searches at the root (``/studies``, ``/series``, ``/instances``) and inside
one study (``/studies/{uid}/series``, ``…/instances``).

Admins and radiologists: the validated search goes to Orthanc through X-Accel-Redirect with the
query the client sent, re-encoded only as Orthanc needs to read the same values (pacs.query);
while StudyInstanceUID conflicts exist (docs/portal.md) Django asks Orthanc itself and leaves
the conflicts' rows out. Clinicians: Django asks Orthanc itself, constrained to the clinician's
own patients and paged (pacs.scope), and answers only rows of the studies they own. Inside a
study, the search is constrained to the PatientID of the study the UID stands for.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from archive import client as archive
from audit import services as audit
from authz.identity import StudyRef
from authz.principal import Principal
from clinical import selectors as clinical_selectors
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from pacs import accel, lookup, qido, scope
from pacs.gateway import Caller
from pacs.paths import Target
from pacs.query import Pair, QueryRefused
from pacs.refusal import Refused

logger = logging.getLogger(__name__)
DICOM_JSON = "application/dicom+json"
_JSON_ACCEPTS = ("application/dicom+json", "application/json", "application/*", "*/*")
# PS3.18 8.3.4.4: a search cut at the origin server's maximum says so.
_TRUNCATED = (
    "299 {service}: The number of results exceeded the maximum supported by the server. "
    "Additional results can be requested."
)


def validated(pairs: tuple[Pair, ...]) -> qido.Search:
    try:
        return qido.validate(pairs)
    except QueryRefused as exc:
        raise Refused(400, str(exc)) from exc


def respond(
    request: HttpRequest, caller: Caller, target: Target, pairs: tuple[Pair, ...]
) -> HttpResponse:
    search = validated(pairs)
    principal = caller.principal
    audit.record_for(
        principal,
        request,
        action="image-search",
        allowed=True,
        target=f"{target.orthanc_path()}?{request.META.get('QUERY_STRING', '')}"[:300],
        status_code=200,
        detail="all studies" if principal.sees_everything else "own patients only",
    )
    hidden = clinical_selectors.conflict_keys() if principal.sees_everything else frozenset()
    if principal.sees_everything and not hidden:
        return accel.accel(
            f"{accel.INTERNAL}/dicom-web/{target.orthanc_path()}",
            lookup.orthanc_query(search.pairs),
        )
    accept = str(request.META.get("HTTP_ACCEPT", "")) or DICOM_JSON
    if not any(kind in accept for kind in _JSON_ACCEPTS):
        raise Refused(406, "filtered searches answer application/dicom+json only")
    if principal.sees_everything:
        return _without_conflicts(target, search, hidden)
    return _own_patients(principal, target, search)


def _without_conflicts(
    target: Target, search: qido.Search, hidden: frozenset[tuple[str, str]]
) -> HttpResponse:
    page = scope.page_of(search, settings.CONFIG.qido_max_results)
    pairs = tuple((k, v) for k, v in search.pairs if k not in ("limit", "offset"))
    rows = _collect(target, pairs, lambda row: scope.study_key(row) not in hidden, page.wanted)
    return _answer(rows, page)


def _own_patients(principal: Principal, target: Target, search: qido.Search) -> HttpResponse:
    page = scope.page_of(search, settings.CONFIG.qido_max_results)
    left_out = scope.inexpressible(principal.patient_ids or ())
    if left_out:
        logger.warning("PatientIDs that QIDO cannot ask for exactly, not searched: %s", left_out)
    candidates = scope.candidate_patients(principal.patient_ids or (), search.patient_id)
    rows: list[dict[str, Any]] = []
    if candidates:
        allowed = clinical_selectors.study_keys_for_patients(patient_ids=candidates)
        with_studies = sorted({patient_id for patient_id, _ in allowed})
        for pairs in scope.orthanc_queries(search, with_studies):
            rows += _collect(
                target, pairs, lambda row: scope.study_key(row) in allowed, page.wanted - len(rows)
            )
            if len(rows) >= page.wanted:
                break
    return _answer(rows, page)


def _answer(rows: list[dict[str, Any]], page: scope.Page) -> HttpResponse:
    response = HttpResponse(
        json.dumps(rows[page.offset : page.offset + page.limit]), content_type=DICOM_JSON
    )
    if page.capped and len(rows) > page.offset + page.limit:
        response["Warning"] = _TRUNCATED.format(service="/api/pacs/dicom-web")
    return response


def in_study(ref: StudyRef, target: Target, pairs: tuple[Pair, ...]) -> HttpResponse:
    """QIDO inside one study (its series or instances), of that exact study only.

    Orthanc's QIDO matches the StudyInstanceUID alone, so it would mix in the rows of another
    patient's study that reuses it: the owner's PatientID replaces any the client sent (a
    client's PatientID that does not select the owner answers nothing). A PatientID that QIDO
    cannot ask for exactly (``*``, ``?``, ``,``, ``\\``) is not sent; rows are then kept here by
    exact PatientID.
    """
    search = validated(pairs)
    if not scope.candidate_patients([ref.patient_id], search.patient_id) and not (
        scope.inexpressible([ref.patient_id])
    ):
        return JsonResponse([], safe=False, content_type=DICOM_JSON)
    kept = scope.without_patient_id(search.pairs)
    if not scope.inexpressible([ref.patient_id]):
        return accel.accel(
            f"{accel.INTERNAL}/dicom-web/{target.orthanc_path()}",
            lookup.orthanc_query((*kept, ("PatientID", ref.patient_id))),
        )
    page = scope.page_of(search, settings.CONFIG.qido_max_results)
    plain = tuple((k, v) for k, v in kept if k not in ("limit", "offset"))
    rows = _collect(
        target, plain, lambda row: scope.study_key(row)[0] == ref.patient_id, page.wanted
    )
    return _answer(rows, page)


def _collect(
    target: Target,
    pairs: tuple[Pair, ...],
    keep: Callable[[dict[str, Any]], bool],
    wanted: int,
) -> list[dict[str, Any]]:
    """Up to ``wanted`` visible rows of one constrained query, read from Orthanc page by page."""
    found: list[dict[str, Any]] = []
    orthanc_offset = 0
    while len(found) < wanted:
        batch = wanted - len(found)
        paged = (*pairs, ("limit", str(batch)), ("offset", str(orthanc_offset)))
        answer = archive.orthanc().qido(
            target.orthanc_path(), lookup.orthanc_query(paged), DICOM_JSON
        )
        if answer.status_code >= 400:
            raise Refused(answer.status_code, "the archive refused the search")
        rows: list[dict[str, Any]] = answer.json() if answer.content else []
        found += [row for row in rows if keep(row)]
        orthanc_offset += len(rows)
        if len(rows) < batch:
            break
    return found
