"""The portal and the viewer in headless Chromium through nginx, against the native stack.

The users' walk: clinician worklist -> study page -> viewer with real pixels, AI panel and
SEG overlay; radiologist re-analysis; another clinician sees neither the study nor its images;
no session -> portal login and back; upload of a generated study through the portal.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Demo, api_get
from tests.support.stack import RunningStack
from tests.support.web import (
    HTJ2K_SYNTAXES,
    FrameLog,
    generate_study,
    login,
    screenshot,
    viewer_url,
    wait_for_overlay,
    wait_for_rendered_image,
)


def open_viewer_from_study_page(
    page: Page, web_stack: RunningStack, demo: Demo, prefix: str
) -> None:
    row = page.locator(f"tr[data-study-uid='{demo.study_uid}']")
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "done")
    screenshot(page, f"{prefix}-1-worklist")
    row.locator("a").first.click()
    expect(page.get_by_test_id("ai-report")).to_be_visible(timeout=30_000)
    screenshot(page, f"{prefix}-2-study")
    page.get_by_test_id("open-viewer").click()
    page.wait_for_url(re.compile(r"/pacs-viewer/ai\?StudyInstanceUIDs="))


def check_viewer(page: Page, report: dict[str, Any], frames: FrameLog, prefix: str) -> None:
    viewports = wait_for_rendered_image(page)
    screenshot(page, f"{prefix}-3-viewer-image")
    assert any(v["stored"] and v["stored"]["max"] > v["stored"]["min"] for v in viewports)
    # Frames reach the browser labelled with their stored transfer syntax (HTJ2K after ingest).
    assert frames.transfer_syntaxes() & set(HTJ2K_SYNTAXES), frames.responses[:3]

    panel = page.get_by_test_id("neuronova-ai-panel")
    expect(panel).to_have_attribute("data-status", "done", timeout=30_000)
    labels = panel.get_by_test_id("neuronova-ai-label")
    expect(labels).to_have_count(len(report["labels"]))
    for label in report["labels"]:
        expect(panel.locator(f"[data-label='{label['label']}']")).to_be_visible()
    screenshot(page, f"{prefix}-4-ai-panel")

    page.get_by_test_id("neuronova-ai-overlay").click()
    overlay = wait_for_overlay(page)
    assert overlay["coloured"] > 0
    expect(page.get_by_test_id("neuronova-ai-overlay")).to_have_attribute("data-overlay", "visible")
    screenshot(page, f"{prefix}-5-ai-overlay")


def test_clinician_reads_the_demo_study(
    page: Page,
    frame_log: FrameLog,
    web_stack: RunningStack,
    demo: Demo,
    demo_report: dict[str, Any],
) -> None:
    login(page, web_stack.url, "clinician")
    open_viewer_from_study_page(page, web_stack, demo, "clinician")
    check_viewer(page, demo_report, frame_log, "clinician")


def test_study_page_shows_the_ai_volumes(
    page: Page, web_stack: RunningStack, demo: Demo, demo_report: dict[str, Any]
) -> None:
    login(page, web_stack.url, "clinician")
    page.goto(f"{web_stack.url}/studies/{demo.study_uid}")
    report = page.get_by_test_id("ai-report")
    expect(report).to_be_visible(timeout=30_000)
    for label in demo_report["labels"]:
        row = report.locator(f"tr[data-label='{label['label']}']")
        expect(row).to_contain_text(f"{label['volume_ml']:.2f}")
    # Korean UI: labels switch and the page stays usable.
    page.get_by_label("Language").select_option("ko")
    expect(page.get_by_test_id("open-viewer")).to_have_text("뷰어에서 열기")
    screenshot(page, "clinician-study-ko")
    # The viewer's AI panel follows the language chosen in the portal (same-origin localStorage).
    page.get_by_test_id("open-viewer").click()
    page.wait_for_url(re.compile(r"/pacs-viewer/ai\?StudyInstanceUIDs="))
    panel = page.get_by_test_id("neuronova-ai-panel")
    expect(panel).to_have_attribute("data-status", "done", timeout=120_000)
    expect(panel).to_have_attribute("data-lang", "ko")
    expect(panel.get_by_test_id("neuronova-ai-status")).to_have_text("완료")
    expect(panel.get_by_role("columnheader")).to_have_text(["레이블", "부피 (mL)"])
    # A clinician is offered neither re-analysis nor the review actions (radiologists only);
    # the unsigned result is marked as such.
    expect(panel).to_have_attribute("data-role", "clinician")
    for hidden in ("ai-reanalyze", "review-accept", "review-reject", "review-edit"):
        expect(panel.get_by_test_id(f"neuronova-{hidden}")).to_have_count(0)
    expect(panel.get_by_test_id("neuronova-review-unsigned")).to_contain_text("미서명")
    expect(panel.get_by_test_id("neuronova-ai-overlay")).to_have_text("AI 오버레이 표시")
    for label in demo_report["labels"]:
        # ko-KR groups thousands with "," and uses "." for decimals, like Python's "," format.
        row = panel.locator(f"[data-label='{label['label']}']")
        expect(row.get_by_test_id("neuronova-ai-volume")).to_have_text(f"{label['volume_ml']:,.2f}")
    screenshot(page, "clinician-viewer-ko")


def test_radiologist_reanalysis_creates_a_new_job_that_finishes(
    page: Page,
    frame_log: FrameLog,
    web_stack: RunningStack,
    demo: Demo,
    demo_report: dict[str, Any],
) -> None:
    token = web_stack.token("radiologist")
    jobs_before = len(api_get(web_stack, token, f"/api/studies/{demo.study_uid}/jobs"))
    login(page, web_stack.url, "radiologist")
    page.goto(viewer_url(web_stack.url, demo.study_uid))
    check_viewer(page, demo_report, frame_log, "radiologist")

    page.get_by_test_id("neuronova-ai-reanalyze").click()
    expect(page.get_by_test_id("neuronova-ai-message")).to_have_text("Re-analysis queued.")
    screenshot(page, "radiologist-6-reanalysis-requested")
    # The new job may finish between two polls of the panel, so its life is followed in the API.
    deadline = time.monotonic() + 420
    jobs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        jobs = api_get(web_stack, token, f"/api/studies/{demo.study_uid}/jobs")
        if len(jobs) > jobs_before and all(
            job["state"] in ("done", "failed", "skipped") for job in jobs
        ):
            break
        time.sleep(2)
    assert len(jobs) == jobs_before + 1, jobs
    assert all(job["state"] == "done" for job in jobs), jobs
    panel = page.get_by_test_id("neuronova-ai-panel")
    expect(panel).to_have_attribute("data-status", "done", timeout=30_000)
    screenshot(page, "radiologist-7-reanalysis-done")


def test_other_clinician_sees_neither_the_study_nor_its_images(
    page: Page, web_stack: RunningStack, demo: Demo
) -> None:
    login(page, web_stack.url, "clinician2")
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    expect(page.locator("p.muted")).to_contain_text("studies")
    expect(page.locator(f"tr[data-study-uid='{demo.study_uid}']")).to_have_count(0)
    page.goto(viewer_url(web_stack.url, demo.study_uid))
    expect(page.get_by_test_id("neuronova-access-error")).to_be_visible(timeout=60_000)
    screenshot(page, "clinician2-access-error")
    # And the data itself is refused, not just hidden by the UI.
    status = page.evaluate(
        "uid => fetch(`/api/pacs/dicom-web/studies/${uid}/series`).then(r => r.status)",
        demo.study_uid,
    )
    assert status in (403, 404)


def test_viewer_without_session_goes_to_portal_login_and_back(
    page: Page, web_stack: RunningStack, demo: Demo
) -> None:
    target = viewer_url(web_stack.url, demo.study_uid)
    page.goto(target)
    page.wait_for_url(re.compile(r"/login\?"), timeout=60_000)
    screenshot(page, "anonymous-viewer-to-login")
    page.fill("input[name=username]", "radiologist")
    page.fill("input[name=password]", "radiologist-dev-pass")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/pacs-viewer/ai\?StudyInstanceUIDs="), timeout=60_000)
    expect(page.get_by_test_id("neuronova-ai-panel")).to_be_visible(timeout=120_000)


def test_upload_of_a_generated_study_reaches_the_worklist_and_gets_a_seg(
    page: Page, web_stack: RunningStack, tmp_path: Path
) -> None:
    files = generate_study(tmp_path / "upload", seed=777)
    assert files
    login(page, web_stack.url, "radiologist")
    page.goto(f"{web_stack.url}/upload")
    page.get_by_test_id("upload-files").set_input_files([str(path) for path in files])
    page.get_by_role("button", name=re.compile("^Upload")).click()
    summary = page.get_by_test_id("upload-summary")
    expect(summary).to_have_text(f"{len(files)} stored, 0 failed", timeout=180_000)
    screenshot(page, "upload-done")

    token = web_stack.token("radiologist")
    patient_id = "NN-SYN-00777"
    # ai_status turns done on the job event; the SEG series reaches the portal's mirror just after.
    deadline = time.monotonic() + 420
    study: dict[str, Any] = {}
    series: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        results = api_get(web_stack, token, f"/api/studies?search={patient_id}")["results"]
        study = results[0] if results else {}
        if study.get("ai_status") in ("failed", "skipped"):
            break
        if study.get("ai_status") == "done":
            series = api_get(web_stack, token, f"/api/studies/{study['study_uid']}")["series"]
            if any(item["modality"] == "SEG" for item in series):
                break
        time.sleep(2)
    assert study.get("ai_status") == "done", study
    assert any(item["modality"] == "SEG" for item in series), series
    page.goto(f"{web_stack.url}/?search={patient_id}")
    row = page.locator(f"tr[data-study-uid='{study['study_uid']}']")
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "done")
    screenshot(page, "upload-worklist")
