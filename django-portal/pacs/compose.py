"""Adapter (Orthanc REST, through the Orthanc protocol): DICOMweb answers for one exact study,
built from that study's own instances.

Orthanc's DICOMweb finds studies and series by UID; when another patient's study shares the
UIDs (a conflict, docs/portal.md) it answers 404 for the owner's study, series or instance
metadata and retrieve. The gateway then answers from here instead, reading only the Orthanc
resources derived from the owner's PatientID, so the owner's study stays whole and nothing of
the other study is mixed in. Slower than the X-Accel path, and used only for conflicts.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator

import pydicom
from archive.orthanc import Orthanc
from authz.identity import StudyRef
from pydicom.dataelem import DataElement

BULK_THRESHOLD = 1024


def instance_ids(
    orthanc: Orthanc, ref: StudyRef, series_uid: str = "", sop_uid: str = ""
) -> list[str]:
    """Orthanc ids of the owner's instances at the addressed level (study, series, instance)."""
    if sop_uid:
        return [ref.instance_id(series_uid, sop_uid)]
    if series_uid:
        return orthanc.series_instances(ref.series_id(series_uid))
    return [str(i["ID"]) for i in orthanc.study_instances(ref.orthanc_study_id)]


def metadata(orthanc: Orthanc, ids: list[str], bulk_root: str) -> bytes:
    """The DICOM JSON metadata of these instances; values over 1 KiB become BulkDataURIs under
    ``bulk_root`` (the DICOMweb root the client used), as Orthanc's own metadata does."""
    out = []
    for orthanc_id in ids:
        dataset = pydicom.dcmread(io.BytesIO(orthanc.instance_file(orthanc_id)))
        base = (
            f"{bulk_root}/studies/{dataset.StudyInstanceUID}/series/{dataset.SeriesInstanceUID}"
            f"/instances/{dataset.SOPInstanceUID}/bulk"
        )

        def bulk_uri(element: DataElement, base: str = base) -> str:
            return f"{base}/{element.tag:08x}"

        out.append(
            dataset.to_json_dict(
                bulk_data_threshold=BULK_THRESHOLD, bulk_data_element_handler=bulk_uri
            )
        )
    return json.dumps(out).encode()


def multipart_files(orthanc: Orthanc, ids: list[str]) -> tuple[Iterator[bytes], str]:
    """A ``multipart/related; type="application/dicom"`` body streaming the stored files."""
    boundary = uuid.uuid4().hex

    def parts() -> Iterator[bytes]:
        for orthanc_id in ids:
            yield f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
            yield orthanc.instance_file(orthanc_id)
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    return parts(), f'multipart/related; type="application/dicom"; boundary={boundary}'
