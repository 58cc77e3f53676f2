"""OHIF's study list searches the archive through the portal's QIDO.

A radiologist types part of a patient's name in the viewer's study list and finds the study;
a clinician typing the same finds only their own patient's. OHIF sends the search as
``PatientName=*text*`` (its data source ``supportsWildcard``): the wildcard must reach Orthanc
as a wildcard.
"""

from __future__ import annotations

import io
import re

import pydicom
import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import manage
from tests.support.portal import make_mr
from tests.support.stack import RunningStack
from tests.support.web import login, screenshot

OWN = ("NN-DEMO-0001", "SEARCHLIST^OWN", "1.2.826.0.1.3680043.10.2077.1")  # the clinician's
FOREIGN = ("NN-E2E-SEARCH-OTHER", "SEARCHLIST^FOREIGN", "1.2.826.0.1.3680043.10.2077.2")


@pytest.fixture(scope="module")
def named_studies(web_stack: RunningStack) -> None:
    session = requests.Session()
    session.auth = web_stack.orthanc_auth
    for seed, (patient_id, name, study_uid) in enumerate((OWN, FOREIGN)):
        data, _ = make_mr(
            patient_id=patient_id,
            study_uid=study_uid,
            series_uid=f"{study_uid}.1",
            sop_uid=f"{study_uid}.1.1",
            seed=seed,
        )
        dataset = pydicom.dcmread(io.BytesIO(data))
        dataset.PatientName = name
        buffer = io.BytesIO()
        dataset.save_as(buffer)
        stored = session.post(f"{web_stack.orthanc_url}/instances", data=buffer.getvalue())
        assert stored.status_code == 200, stored.text
    manage(web_stack, "sync_studies")  # the clinician's filter reads the portal's mirror


def study_rows(page: Page) -> Locator:
    return page.locator("tbody tr:not([data-filter-row])")


def search_by_name(page: Page, base_url: str, user: str, typed: str) -> Locator:
    login(page, base_url, user)
    page.goto(f"{base_url}/pacs-viewer/")
    name_filter = page.locator("tr[data-filter-row] input").first
    expect(name_filter).to_be_visible(timeout=60_000)
    with page.expect_request(re.compile(r"/api/pacs/dicom-web/studies\?PatientName=")) as asked:
        name_filter.press_sequentially(typed, delay=40)
    assert f"PatientName=*{typed}*" in asked.value.url  # OHIF's own wildcard search
    return study_rows(page)


def test_radiologist_finds_a_study_by_part_of_the_name(
    page: Page, web_stack: RunningStack, named_studies: None
) -> None:
    rows = search_by_name(page, web_stack.url, "radiologist", "archli")
    expect(rows.filter(has_text="SEARCHLIST, OWN")).to_have_count(1, timeout=30_000)
    expect(rows.filter(has_text="SEARCHLIST, FOREIGN")).to_have_count(1)
    expect(rows).to_have_count(2)  # nothing else in the archive has "archli" in its name
    screenshot(page, "study-list-search-radiologist")


def test_clinician_search_finds_only_own_patients(
    page: Page, web_stack: RunningStack, named_studies: None
) -> None:
    rows = search_by_name(page, web_stack.url, "clinician", "archli")
    expect(rows.filter(has_text="SEARCHLIST, OWN")).to_have_count(1, timeout=30_000)
    expect(rows).to_have_count(1)
    screenshot(page, "study-list-search-clinician")
