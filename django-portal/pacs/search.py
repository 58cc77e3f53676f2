"""Wiring: QIDO-RS searches at the root (``/studies``, ``/series``, ``/instances``).

Admins and radiologists: the validated search goes to Orthanc through X-Accel-Redirect with the
query the client sent, re-encoded only as Orthanc needs to read the same values (pacs.query).
Clinicians: Django asks Orthanc itself, constrained to the clinician's own patients and paged
(pacs.scope), and answers only rows of their studies.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from audit import services as audit
from clinical import selectors as clinical_selectors
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from pacs import gateway, qido, scope
from pacs.access import Principal
from pacs.gateway import Caller, Refused
from pacs.paths import Target
from pacs.query import Pair, QueryRefused

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
    audit.record(
        action="image-search",
        allowed=True,
        request=request,
        user_id=principal.user_id,
        username=principal.username,
        target=f"{target.orthanc_path()}?{request.META.get('QUERY_STRING', '')}"[:300],
        status_code=200,
        detail="all studies" if principal.sees_everything else "own patients only",
    )
    if principal.sees_everything:
        return gateway.accel(
            f"{gateway.INTERNAL}/dicom-web/{target.orthanc_path()}",
            gateway.orthanc_query(search.pairs),
        )
    accept = str(request.META.get("HTTP_ACCEPT", "")) or DICOM_JSON
    if not any(kind in accept for kind in _JSON_ACCEPTS):
        raise Refused(406, "searches of assigned patients answer application/dicom+json only")
    return _own_patients(principal, target, search)


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
            rows += _collect(target, pairs, allowed, page.wanted - len(rows))
            if len(rows) >= page.wanted:
                break
    response = HttpResponse(
        json.dumps(rows[page.offset : page.offset + page.limit]), content_type=DICOM_JSON
    )
    if page.capped and len(rows) > page.offset + page.limit:
        response["Warning"] = _TRUNCATED.format(service="/api/pacs/dicom-web")
    return response


def _collect(
    target: Target, pairs: tuple[Pair, ...], allowed: frozenset[tuple[str, str]], wanted: int
) -> list[dict[str, Any]]:
    """Up to ``wanted`` visible rows of one constrained query, read from Orthanc page by page."""
    found: list[dict[str, Any]] = []
    orthanc_offset = 0
    while len(found) < wanted:
        batch = wanted - len(found)
        paged = (*pairs, ("limit", str(batch)), ("offset", str(orthanc_offset)))
        answer = gateway.orthanc().qido(
            target.orthanc_path(), gateway.orthanc_query(paged), DICOM_JSON
        )
        if answer.status_code >= 400:
            raise Refused(answer.status_code, "the archive refused the search")
        rows: list[dict[str, Any]] = answer.json() if answer.content else []
        found += scope.visible_rows(rows, allowed)
        orthanc_offset += len(rows)
        if len(rows) < batch:
            break
    return found
