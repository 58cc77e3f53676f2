"""Adapter (Orthanc REST, with per-process caches): the archive lookups of the image gateway.

Every resource is resolved inside the exact study the StudyInstanceUID stands for (authz's
StudyRef): a series or instance is the Orthanc resource derived from that study's PatientID and
the UIDs, never whatever a bare UID lookup finds, so another patient's study that reuses the
UIDs is out of reach.
"""

from __future__ import annotations

from archive import client as archive
from archive.orthanc import OrthancNotFound
from authz.identity import StudyRef
from common.ttl_cache import TTLCache

from pacs import query
from pacs.paths import Target
from pacs.refusal import Refused

# Orthanc ids never change meaning, so positive existence checks are cached for long; misses
# are not. Studies only in the archive (not mirrored yet) are re-read after a few seconds.
_instances: TTLCache[tuple[str, str]] = TTLCache(600.0)
_series: TTLCache[bool] = TTLCache(600.0)
_archive_refs: TTLCache[StudyRef] = TTLCache(5.0)
# A study's or series' representative instance changes only when instances arrive.
_representatives: TTLCache[str] = TTLCache(60.0)
# Orthanc's way of reading query strings only changes with an upgrade: probed once in a while.
_dialects: TTLCache[query.Dialect] = TTLCache(600.0)

# Series that are not pictures of the patient: never chosen for a study's thumbnail.
_NOT_IMAGES = frozenset({"SEG", "SR", "PR", "KO", "RTSTRUCT", "DOC", "REG", "RWV"})


def clear_caches() -> None:
    for cache in (_instances, _series, _archive_refs, _representatives, _dialects):
        cache.clear()


def archive_study(study_uid: str) -> StudyRef:
    """For a caller who reads every study, one the portal has not mirrored yet: the archive's
    study with that UID, if there is exactly one (several: not reconciled yet, refused)."""
    hit = _archive_refs.get(study_uid)
    if hit is not None:
        return hit
    studies = archive.orthanc().studies_with_uid(study_uid)
    if not studies:
        raise Refused(404, "study not in the archive")
    if len(studies) > 1:
        raise Refused(409, "several patients' studies share this StudyInstanceUID")
    (orthanc_study_id, patient_id), *_ = studies
    ref = StudyRef(study_uid, patient_id, orthanc_study_id)
    _archive_refs.put(study_uid, ref)
    return ref


def series(ref: StudyRef, series_uid: str) -> str:
    """Orthanc id of that series of that exact study (404 when the study has no such series)."""
    orthanc_series_id = ref.series_id(series_uid)
    if _series.get(orthanc_series_id) is None:
        try:
            archive.orthanc().series_instances(orthanc_series_id)
        except OrthancNotFound as exc:
            raise Refused(404, "series not in study") from exc
        _series.put(orthanc_series_id, True)
    return orthanc_series_id


def instance(ref: StudyRef, series_uid: str, sop_uid: str) -> tuple[str, str]:
    """(Orthanc instance id, stored transfer syntax) of that instance of that exact study."""
    orthanc_id = ref.instance_id(series_uid, sop_uid)
    hit = _instances.get(orthanc_id)
    if hit is None:
        try:
            hit = (orthanc_id, archive.orthanc().transfer_syntax(orthanc_id))
        except OrthancNotFound as exc:
            raise Refused(404, "instance not in series/study") from exc
        _instances.put(orthanc_id, hit)
    return hit


def _middle(instances: list[str]) -> str | None:
    return instances[len(instances) // 2] if instances else None


def representative_instance(ref: StudyRef, target: Target) -> str:
    """Orthanc id of the instance that stands for the target in a thumbnail.

    Instance: itself. Series: its middle instance (in Orthanc's order). Study: the middle
    instance of its first image series (SEG, SR and other non-image series are passed over).
    """
    if target.sop_uid:
        return instance(ref, target.series_uid, target.sop_uid)[0]
    key = (ref.orthanc_study_id, target.series_uid)
    hit = _representatives.get(key)
    if hit is not None:
        return hit
    if target.series_uid:
        chosen = _middle(archive.orthanc().series_instances(series(ref, target.series_uid)))
    else:
        images = [
            s
            for s in archive.orthanc().study_series(ref.orthanc_study_id)
            if str((s.get("MainDicomTags") or {}).get("Modality", "")) not in _NOT_IMAGES
        ]
        chosen = next((m for s in images if (m := _middle(list(s.get("Instances") or [])))), None)
    if chosen is None:
        raise Refused(404, "no image to make a thumbnail of")
    _representatives.put(key, str(chosen))
    return str(chosen)


def orthanc_query(pairs: tuple[query.Pair, ...]) -> str:
    """The query string that makes Orthanc read ``pairs`` as the client meant them.

    Orthanc's dialect is only asked for when a character needs it (pacs.query).
    """
    dialect = query.Dialect.DECODED
    if query.needs_dialect(pairs):
        cached = _dialects.get("orthanc")
        dialect = cached if cached is not None else archive.orthanc().query_dialect()
        _dialects.put("orthanc", dialect)
    try:
        return query.encode(pairs, dialect)
    except query.Unrepresentable as exc:
        raise Refused(501, str(exc)) from exc
