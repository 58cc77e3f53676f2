"""Series metadata from the portal's cache through the real chain: nginx (the repository's
templates) → gunicorn (one process, so /api/metrics is that process's count) → Orthanc 1.13 with
the NeuroNova plugin and DICOMweb 1.24, the shared cache in the chain's own Redis.

One series goes through its life: first open (a miss, built from Orthanc's DICOMweb), the next
opens (hits, gzip bytes from Redis), a new instance, a deleted instance (each a miss with the
series as it is now), a SEG added to the study (the source series' entry stays a hit), and the
hit/miss counter the portal exports.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from pydicom.dataset import Dataset

from tests.support.orthanc import synthetic_mr_series
from tests.support.portal import PortalChain, portal_chain
from tests.support.segmentations import binary_seg

ONE_WORKER = ("--workers", "1", "--worker-class", "gthread", "--threads", "4")
PATIENT = "NN-DEMO-0001"  # `clinician`'s patient


@dataclass
class Series:
    chain: PortalChain
    token: str
    slices: list[Dataset]

    @property
    def study_uid(self) -> str:
        return str(self.slices[0].StudyInstanceUID)

    @property
    def series_uid(self) -> str:
        return str(self.slices[0].SeriesInstanceUID)

    def metadata(self, series_uid: str = "") -> requests.Response:
        path = (
            f"/api/pacs/dicom-web/studies/{self.study_uid}/series/"
            f"{series_uid or self.series_uid}/metadata"
        )
        return requests.get(
            self.chain.url + path,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/dicom+json"},
            timeout=60,
        )

    def store(self, ds: Dataset) -> str:
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        answer = self.chain.orthanc.session().post(
            f"{self.chain.orthanc.url}/instances", data=out.getvalue(), timeout=60
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["ID"])

    def counted(self) -> dict[str, float]:
        text = requests.get(f"{self.chain.django_url}/api/metrics", timeout=30).text
        found = {"hit": 0.0, "miss": 0.0}
        for line in text.splitlines():
            for result in found:
                if line.startswith(f'neuronova_metadata_cache_total{{result="{result}"}}'):
                    found[result] = float(line.split()[-1])
        return found


def sop_uids(answer: requests.Response) -> list[str]:
    return sorted(row["00080018"]["Value"][0] for row in answer.json())


@pytest.fixture(scope="module")
def series() -> Iterator[Series]:
    with portal_chain(gunicorn_options=ONE_WORKER) as chain:
        slices = synthetic_mr_series(6, rows=64, columns=64, patient_id=PATIENT, seed=7)
        running = Series(chain, chain.token_pair("radiologist")["access"], slices)
        for ds in slices[:4]:
            running.store(ds)
        yield running


def test_orthanc_precomputes_the_series_metadata_when_the_series_is_stable(
    series: Series,
) -> None:
    """DICOMweb 1.24 keeps its own copy (attachment 4301) once the series is stable, so even the
    portal's first open of a stable series is not Orthanc re-reading every file."""
    session, url = series.chain.orthanc.session(), series.chain.orthanc.url
    (found,) = session.post(f"{url}/tools/lookup", data=series.series_uid, timeout=30).json()
    deadline = time.monotonic() + 120
    while not session.get(f"{url}/series/{found['ID']}", timeout=30).json()["IsStable"]:
        assert time.monotonic() < deadline, "the series never became stable"
        time.sleep(1)
    deadline = time.monotonic() + 60
    while "4301" not in session.get(f"{url}/series/{found['ID']}/attachments", timeout=30).json():
        assert time.monotonic() < deadline, "DICOMweb did not precompute the series metadata"
        time.sleep(1)


def test_first_open_misses_then_every_open_hits_with_the_same_answer(series: Series) -> None:
    before = series.counted()
    first = series.metadata()
    assert first.status_code == 200, first.text[:300]
    assert first.headers["Content-Type"] == "application/dicom+json"
    second = series.metadata()
    assert second.headers["Content-Encoding"] == "gzip"  # stored gzipped, sent as stored
    assert second.content == first.content
    assert sop_uids(second) == sorted(str(ds.SOPInstanceUID) for ds in series.slices[:4])
    after = series.counted()
    assert (after["miss"] - before["miss"], after["hit"] - before["hit"]) == (1, 1)
    # The answer is Orthanc's DICOMweb answer, its URLs naming the portal the client called.
    pixel = second.json()[0]["7FE00010"]["BulkDataURI"]
    assert pixel.startswith(f"{series.chain.url}/api/pacs/dicom-web/studies/{series.study_uid}/")


def test_a_new_instance_then_a_deletion_are_misses_with_the_series_as_it_is(
    series: Series,
) -> None:
    series.metadata()
    before = series.counted()
    added = series.store(series.slices[4])
    grown = series.metadata()
    assert sop_uids(grown) == sorted(str(ds.SOPInstanceUID) for ds in series.slices[:5])
    session = series.chain.orthanc.session()
    assert session.delete(f"{series.chain.orthanc.url}/instances/{added}", timeout=30).ok
    shrunk = series.metadata()
    assert sop_uids(shrunk) == sorted(str(ds.SOPInstanceUID) for ds in series.slices[:4])
    after = series.counted()
    # The deletion brought the series back to a version already cached: that entry is right.
    assert (after["miss"] - before["miss"], after["hit"] - before["hit"]) == (1, 1)


def test_a_seg_added_to_the_study_leaves_the_source_entry_a_hit(series: Series) -> None:
    source = series.metadata()
    seg = binary_seg(series.slices[:4])
    series.store(seg)
    before = series.counted()
    again = series.metadata()
    assert again.content == source.content
    assert series.counted()["hit"] - before["hit"] == 1
    seg_answer = series.metadata(str(seg.SeriesInstanceUID))
    assert seg_answer.status_code == 200
    (row,) = seg_answer.json()
    assert row["00080060"]["Value"] == ["SEG"]
    assert json.dumps(row).count(str(seg.SOPInstanceUID)) >= 1
