"""Where Orthanc's DICOMweb suite (orthanc-tests, Plugins/DicomWeb) gets another outcome through the
portal than straight at Orthanc, and why: test name → reason. docs/portal.md lists the same.

tests/upstream/test_dicomweb_conformance.py fails on any difference missing here, and on any
entry here that no longer differs.
"""

from __future__ import annotations

_STOW = (
    "STOW-RS through the portal stores only a radiologist's SEG and SR instances into a study "
    "the portal knows, under that study's PatientID (docs/portal.md): the suite's images are "
    "refused per instance (FailureReason 0x0122, 409), other methods and studies/{uid} answer 405"
)
_WADO_URI_UIDS = (
    "WADO-URI without studyUID and seriesUID: PS3.18 requires all three UIDs and the portal "
    "authorises by the study, so it answers 400 where Orthanc looks the instance up by "
    "objectUID alone"
)

EXPECTED: dict[str, str] = {
    "test_allowed_methods": _STOW,
    "test_stow": _STOW,
    "test_stow_errors": _STOW,
    "test_stow_like_dcm4chee": _STOW,
    "test_wado_dicom": _WADO_URI_UIDS,
    "test_wado_image": _WADO_URI_UIDS,
    "test_compare_wado_uri_and_rs": _WADO_URI_UIDS,
    "test_forwarded_headers": (
        "the test sends its own Host header ('my-domain'); the portal checks Host against "
        "Django's ALLOWED_HOSTS and answers 400. The URLs in the portal's answers name the host "
        "the client called, under /api/pacs/dicom-web/ (nginx sets X-Forwarded-Host/-Proto)"
    ),
}
