"""Unit tests of the DICOMweb path parser: what reaches Orthanc is rebuilt from validated UIDs."""

from __future__ import annotations

import pytest
from pacs import paths
from pacs.paths import Kind, PathRefused

S, SE, INST = "1.2.840.1", "1.2.840.1.2", "1.2.840.1.2.3"


@pytest.mark.parametrize(
    ("path", "kind", "rebuilt"),
    [
        ("studies", Kind.SEARCH_STUDIES, "studies"),
        ("studies/", Kind.SEARCH_STUDIES, "studies"),
        ("series", Kind.SEARCH_SERIES, "series"),
        ("instances", Kind.SEARCH_INSTANCES, "instances"),
        (f"studies/{S}", Kind.STUDY, f"studies/{S}"),
        (f"studies/{S}/metadata", Kind.STUDY, f"studies/{S}/metadata"),
        (f"studies/{S}/series", Kind.STUDY, f"studies/{S}/series"),
        (f"studies/{S}/series/{SE}/metadata", Kind.STUDY, f"studies/{S}/series/{SE}/metadata"),
        (
            f"studies/{S}/series/{SE}/instances/{INST}/thumbnail",
            Kind.STUDY,
            f"studies/{S}/series/{SE}/instances/{INST}/thumbnail",
        ),
        (
            f"studies/{S}/series/{SE}/instances/{INST}/frames/1,2",
            Kind.FRAMES,
            f"studies/{S}/series/{SE}/instances/{INST}/frames/1,2",
        ),
        (
            f"studies/{S}/series/{SE}/instances/{INST}/frames/3/rendered",
            Kind.FRAMES,
            f"studies/{S}/series/{SE}/instances/{INST}/frames/3/rendered",
        ),
        (  # a BulkDataURI as Orthanc writes them: tags, item numbers, gggg,eeee
            f"studies/{S}/series/{SE}/instances/{INST}/bulk/60031010/1/60031011",
            Kind.BULK,
            f"studies/{S}/series/{SE}/instances/{INST}/bulk/60031010/1/60031011",
        ),
        (
            f"studies/{S}/series/{SE}/instances/{INST}/bulk/7fe0,0010",
            Kind.BULK,
            f"studies/{S}/series/{SE}/instances/{INST}/bulk/7fe0,0010",
        ),
    ],
)
def test_accepted_paths_rebuild_identically(path: str, kind: Kind, rebuilt: str) -> None:
    target = paths.parse(path)
    assert target.kind is kind
    assert target.orthanc_path() == rebuilt


def test_frames_are_parsed_as_numbers() -> None:
    target = paths.parse(f"studies/{S}/series/{SE}/instances/{INST}/frames/3,1")
    assert target.frames == (3, 1)
    assert (target.study_uid, target.series_uid, target.sop_uid) == (S, SE, INST)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "../system",
        f"studies/{S}/../../system",
        f"studies/{S}/%2e%2e/system",
        f"studies/{S}/..",
        f"studies//{S}",
        f"studies/{S}//series",
        f"studies/{S}%2Fseries",
        f"studies/{S}/series/{SE}\n/metadata",
        f"studies/{S}\r\nX-Injected: 1",
        "studies/1.2.abc",
        "studies/" + "1." * 40 + "1",  # longer than 64 characters
        "patients",
        f"studies/{S}/bulkdata",
        f"studies/{S}/series/{SE}/instances/{INST}/frames/0",
        f"studies/{S}/series/{SE}/instances/{INST}/frames/1;2",
        f"studies/{S}/series/{SE}/instances/{INST}/frames",
        f"studies/{S}/series/{SE}/instances/{INST}/frames/1/thumbnail",
        f"studies/{S}/series/{SE}/instances/{INST}/frames/1/rendered/x",
        f"studies/{S}/series/{SE}/instances/{INST}/bulk",
        f"studies/{S}/series/{SE}/instances/{INST}/bulk/7fe00010/../../metadata",
        f"studies/{S}/series/{SE}/instances/{INST}/bulk/7fe0001",
        f"studies/{S}/series/{SE}/bulk/7fe00010",
        f"studies/{S}/series/{SE}/instances/{INST}/bulk/" + "1/" * 16 + "7fe00010",
        f"studies/{S}/series/{SE}/instances/{INST}/metadata/extra",
        f"studies/{S}/instances/{INST}",  # instances below a study only as a QIDO search
        "tools/find",
        "studies/1.2/series/\uff11.\uff12",  # non-ASCII (full-width) digits
    ],
)
def test_tricks_and_unknown_resources_are_refused(path: str) -> None:
    with pytest.raises(PathRefused):
        paths.parse(path)
