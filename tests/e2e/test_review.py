"""The radiologist closes the loop, in headless Chromium through nginx against the native stack.

A radiologist opens a pending AI result in the viewer, adds voxels with OHIF's brush, saves the
edit (a new SEG through the portal's STOW-RS) and signs it; the clinician then sees the signed
report with the new, larger volume and no review actions. Three follow-up visits with known tumour
scales: the portal's trend table and chart show the server's changes, and the viewer opens the
prior beside the current study with both segmentations.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import api_get, manage, wait_for_ai_done
from tests.support.stack import RunningStack
from tests.support.web import (
    SEGMENTATION_PROBE,
    login,
    screenshot,
    viewer_url,
    wait_for_rendered_image,
)

EDIT_SEED = 434343  # its own patient: the edit signs the study, which other tests read unsigned
VISITS_SEED = 515151
VISIT_SCALES = (1.0, 1.3, 0.7)

# Non-zero voxels of every labelmap the viewer holds, by segmentation.
LABELMAP_VOXELS = """
() => window.services.segmentationService.getSegmentations().map(seg => {
  const ids = (seg.representationData.Labelmap || {}).imageIds || [];
  let voxels = 0;
  for (const id of ids) {
    const image = window.cornerstone.cache.getImage(id);
    if (!image) continue;
    const px = image.getPixelData();
    for (let i = 0; i < px.length; i++) if (px[i]) voxels++;
  }
  return {segmentationId: seg.segmentationId, voxels};
})
"""

# What each viewport shows: its study and series description, and its SEG representations.
VIEWPORTS = """
() => {
  const s = window.services;
  const out = [];
  let viewports;
  try { viewports = s.viewportGridService.getState().viewports; } catch (e) { return []; }
  for (const [viewportId, vp] of viewports) {
    const ds = (vp.displaySetInstanceUIDs || [])
      .map(uid => s.displaySetService.getDisplaySetByUID(uid)).filter(Boolean)[0];
    const reps = s.segmentationService.getSegmentationRepresentations(viewportId) || [];
    out.push({viewportId, study: ds && ds.StudyInstanceUID, series: ds && ds.SeriesDescription,
              segs: reps.filter(r => r.visible !== false).length});
  }
  return out;
}
"""


def send_study(web_stack: RunningStack, seed: int) -> tuple[str, str]:
    study_uid = web_stack.send_demo_study(seed=seed)
    patient_id = f"NN-SYN-{seed:05d}"
    manage(web_stack, "assign_patient", "clinician", patient_id)
    return study_uid, patient_id


def total_ml(report: dict[str, Any]) -> float:
    return float(sum(label["volume_ml"] for label in report["labels"]))


def paint(page: Page, strokes: int = 2) -> None:
    """Drags the brush across the middle of the active viewport, a few strokes apart (each mouse
    move repaints the labelmap in SwiftShader: a few seconds each on 2 cores, so few moves)."""
    box = page.locator(".cornerstone-canvas").first.bounding_box()
    assert box, "no viewport canvas"
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for stroke in range(strokes):
        y = cy - 60 + stroke * 40
        page.mouse.move(cx - 150, y)
        page.mouse.down()
        page.mouse.move(cx + 150, y, steps=6)
        page.mouse.up()


def test_radiologist_brushes_saves_and_signs_then_clinician_sees_the_new_volume(
    page: Page, web_stack: RunningStack
) -> None:
    study_uid, _patient_id = send_study(web_stack, EDIT_SEED)
    ai_report = wait_for_ai_done(web_stack, study_uid, web_stack.token("radiologist"))
    assert ai_report["review"]["state"] == "pending_review", ai_report["review"]

    login(page, web_stack.url, "radiologist")
    page.goto(viewer_url(web_stack.url, study_uid))
    wait_for_rendered_image(page)
    panel = page.get_by_test_id("neuronova-ai-panel")
    expect(panel).to_have_attribute("data-role", "radiologist", timeout=30_000)
    review = panel.get_by_test_id("neuronova-review")
    expect(review).to_have_attribute("data-state", "pending_review", timeout=30_000)
    expect(review.get_by_test_id("neuronova-review-unsigned")).to_be_visible()

    panel.get_by_test_id("neuronova-review-edit").click()
    expect(panel.get_by_test_id("neuronova-edit-tools")).to_be_visible(timeout=60_000)
    expect(panel.get_by_test_id("neuronova-tool-brush")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(f"() => ({LABELMAP_VOXELS})().some(s => s.voxels > 0)", timeout=60_000)
    before = sum(s["voxels"] for s in page.evaluate(LABELMAP_VOXELS))
    paint(page)
    after = sum(s["voxels"] for s in page.evaluate(LABELMAP_VOXELS))
    screenshot(page, "review-1-brushed")
    assert after > before, f"the brush added no voxels ({before} -> {after})"
    # The eraser and the threshold brush take the mouse too (a tool OHIF cannot activate throws
    # before the button shows pressed), then the brush again.
    for tool in ("eraser", "threshold", "brush"):
        panel.get_by_test_id(f"neuronova-tool-{tool}").click()
        expect(panel.get_by_test_id(f"neuronova-tool-{tool}")).to_have_attribute(
            "aria-pressed", "true"
        )

    panel.get_by_test_id("neuronova-review-impression-input").fill("Enhancing margin extended.")
    panel.get_by_test_id("neuronova-review-sign").click()
    expect(review).to_have_attribute("data-state", "edited", timeout=120_000)
    expect(review).to_have_attribute("data-signed", "true")
    screenshot(page, "review-2-signed")

    signed = api_get(web_stack, web_stack.token("clinician"), f"/api/studies/{study_uid}/report")
    assert signed["review"]["signed"]
    assert signed["review"]["reviewer"] == "radiologist"
    assert signed["review"]["edited_seg_series_uid"] not in (None, ai_report["seg_series_uid"])
    assert signed["volumes_source"] == "edited_seg"
    assert total_ml(signed) > total_ml(ai_report), (signed["labels"], ai_report["labels"])

    # The stored edit is a series of the open study at once, no reload: in the study browser, and
    # "Show AI overlay" (hidden first: the labelmap on screen is the edited AI one) loads it from
    # the archive, with the brushed voxels.
    edited = page.wait_for_function(
        """uid => (window.services.displaySetService.getActiveDisplaySets()
                     .find(ds => ds.SeriesInstanceUID === uid) || {}).displaySetInstanceUID""",
        arg=signed["review"]["edited_seg_series_uid"],
        timeout=30_000,
    ).json_value()
    expect(page.locator(f"[id='thumbnail-{edited}']")).to_be_visible()
    overlay = panel.get_by_test_id("neuronova-ai-overlay")
    overlay.click()
    expect(overlay).to_have_attribute("data-overlay", "hidden")
    assert not any(r["visible"] for r in page.evaluate(SEGMENTATION_PROBE) or []), "still drawn"
    overlay.click()
    expect(overlay).to_have_attribute("data-overlay", "visible", timeout=120_000)
    shown = {r["segmentationId"] for r in page.evaluate(SEGMENTATION_PROBE) or [] if r["visible"]}
    assert edited in shown, (edited, shown)
    loaded = {s["segmentationId"]: s["voxels"] for s in page.evaluate(LABELMAP_VOXELS)}
    assert loaded.get(edited, 0) > before, (loaded, before)
    screenshot(page, "review-2b-edit-shown-without-reload")

    # The clinician: the signed report with the new volume; no review action anywhere.
    page.context.clear_cookies()
    login(page, web_stack.url, "clinician")
    page.goto(f"{web_stack.url}/studies/{study_uid}")
    report = page.get_by_test_id("ai-report")
    expect(report.get_by_test_id("review")).to_have_attribute("data-signed", "true")
    expect(report.get_by_test_id("review-signer")).to_contain_text("Signed by radiologist")
    expect(report.get_by_test_id("review-impression")).to_contain_text("Enhancing margin extended.")
    for label in signed["labels"]:
        expect(report.locator(f"tr[data-label='{label['label']}']")).to_contain_text(
            f"{label['volume_ml']:,.2f}"
        )
    screenshot(page, "review-3-clinician-study")
    page.get_by_test_id("open-viewer").click()
    panel = page.get_by_test_id("neuronova-ai-panel")
    expect(panel).to_have_attribute("data-role", "clinician", timeout=120_000)
    expect(panel.get_by_test_id("neuronova-review")).to_have_attribute("data-state", "edited")
    for hidden in ("review-accept", "review-reject", "review-edit", "sign-form", "ai-reanalyze"):
        expect(panel.get_by_test_id(f"neuronova-{hidden}")).to_have_count(0)
    screenshot(page, "review-4-clinician-viewer")


def test_a_clinician_is_offered_no_review_action(page: Page, web_stack: RunningStack) -> None:
    study_uid, _patient_id = send_study(web_stack, EDIT_SEED + 1)
    wait_for_ai_done(web_stack, study_uid, web_stack.token("clinician"))
    login(page, web_stack.url, "clinician")
    page.goto(viewer_url(web_stack.url, study_uid))
    panel = page.get_by_test_id("neuronova-ai-panel")
    expect(panel).to_have_attribute("data-role", "clinician", timeout=120_000)
    expect(panel.get_by_test_id("neuronova-review")).to_have_attribute("data-signed", "false")
    expect(panel.get_by_test_id("neuronova-review-unsigned")).to_be_visible()
    for hidden in ("review-accept", "review-reject", "review-edit", "edit-tools", "ai-reanalyze"):
        expect(panel.get_by_test_id(f"neuronova-{hidden}")).to_have_count(0)


def test_a_radiologist_rejects_with_a_reason(page: Page, web_stack: RunningStack) -> None:
    study_uid, _patient_id = send_study(web_stack, EDIT_SEED + 2)
    wait_for_ai_done(web_stack, study_uid, web_stack.token("radiologist"))
    login(page, web_stack.url, "radiologist")
    page.goto(viewer_url(web_stack.url, study_uid))
    panel = page.get_by_test_id("neuronova-ai-panel")
    expect(panel).to_have_attribute("data-role", "radiologist", timeout=120_000)
    panel.get_by_test_id("neuronova-review-reject").click()
    form = panel.get_by_test_id("neuronova-sign-form")
    expect(form).to_have_attribute("data-decision", "rejected")
    form.get_by_test_id("neuronova-review-impression-input").fill("No enhancing tumour.")
    form.get_by_test_id("neuronova-review-sign").click()
    expect(form.get_by_role("alert")).to_have_text("Give a reason for rejecting the result.")
    form.get_by_test_id("neuronova-review-reason").fill("Motion artefact read as tumour.")
    form.get_by_test_id("neuronova-review-sign").click()
    review = panel.get_by_test_id("neuronova-review")
    expect(review).to_have_attribute("data-state", "rejected", timeout=60_000)
    expect(review).to_have_attribute("data-signed", "true")
    expect(review).to_contain_text("Motion artefact read as tumour.")
    signed = api_get(web_stack, web_stack.token("clinician"), f"/api/studies/{study_uid}/report")
    assert signed["review"]["state"] == "rejected"
    assert signed["review"]["reason"] == "Motion artefact read as tumour."


@pytest.fixture(scope="module")
def visits(web_stack: RunningStack) -> dict[str, Any]:
    """Three visits of one patient (tumour scale 1, 1.3, 0.7), their AI results done."""
    result = web_stack.cli(
        "demo", "--no-wait", "--small", "--seed", str(VISITS_SEED), "--visits",
        ",".join(f"{scale:g}" for scale in VISIT_SCALES), timeout=600,
    )  # fmt: skip
    uids = re.findall(r"sent study (\S+) \(\d+ instances, 0 failed\)", result.stdout)
    truth = [float(ml) for ml in re.findall(r"ground truth ([0-9.]+) mL", result.stdout)]
    assert len(uids) == len(VISIT_SCALES) == len(truth), result.stdout + result.stderr
    patient_id = f"NN-SYN-{VISITS_SEED:05d}"
    manage(web_stack, "assign_patient", "clinician", patient_id)
    token = web_stack.token("radiologist")
    reports = [wait_for_ai_done(web_stack, uid, token) for uid in uids]
    return {"uids": uids, "truth": truth, "reports": reports, "patient_id": patient_id}


def test_follow_up_trend_shows_the_expected_changes(
    page: Page, web_stack: RunningStack, visits: dict[str, Any]
) -> None:
    token = web_stack.token("clinician")
    trend = api_get(web_stack, token, f"/api/patients/{visits['patient_id']}/tumour-volumes")
    rows = [row for row in trend["studies"] if row["study_uid"] in visits["uids"]]
    assert [row["study_uid"] for row in rows] == visits["uids"], "date order"
    truth = visits["truth"]
    for index in (1, 2):
        expected = 100.0 * (truth[index] - truth[index - 1]) / truth[index - 1]
        measured = rows[index]["change_vs_previous"]["percent"]
        # The model's error: the direction always, the size within a third of the truth's.
        assert (measured > 0) == (expected > 0), (index, measured, expected)
        assert abs(measured - expected) <= abs(expected) / 3, (index, measured, expected)
    assert rows[2]["change_vs_nadir"]["ml"] < 0  # the last visit is the smallest yet

    login(page, web_stack.url, "clinician")
    page.goto(f"{web_stack.url}/patients/{visits['patient_id']}")
    table = page.get_by_test_id("tumour-volumes")
    expect(table.locator("tbody tr")).to_have_count(len(trend["studies"]), timeout=30_000)
    for row in rows:
        cells = table.locator(f"tr[data-study-uid='{row['study_uid']}'] td[data-ml]")
        changes = [c for c in (row["change_vs_previous"], row["change_vs_nadir"]) if c]
        expect(cells).to_have_count(len(changes))
        for index, change in enumerate(changes):
            assert float(cells.nth(index).get_attribute("data-ml") or "nan") == change["ml"]
    chart = page.get_by_role("img", name=re.compile("Total tumour volume"))
    markers = chart.locator("[data-series='total'] circle")
    expect(markers).to_have_count(len([r for r in trend["studies"] if r["total_ml"] is not None]))
    values = [float(markers.nth(i).get_attribute("data-value") or "nan") for i in range(3)]
    assert values == [row["total_ml"] for row in rows]
    assert values[1] > values[0] > values[2]
    screenshot(page, "followup-1-trend")
    page.get_by_label("Language").select_option("ko")
    expect(page.get_by_role("img", name=re.compile("검사별 전체 종양 부피"))).to_be_visible()
    screenshot(page, "followup-2-trend-ko")


def test_prior_opens_beside_the_current_study_with_both_segmentations(
    page: Page, web_stack: RunningStack, visits: dict[str, Any]
) -> None:
    current, prior = visits["uids"][2], visits["uids"][1]
    login(page, web_stack.url, "radiologist")
    page.goto(viewer_url(web_stack.url, current))
    wait_for_rendered_image(page)
    change = page.get_by_test_id("neuronova-prior-change")
    expect(change).to_have_attribute("data-prior-study", prior, timeout=60_000)
    expect(change.get_by_test_id("neuronova-prior-delta")).to_contain_text("-")
    change.get_by_test_id("neuronova-compare-prior").click()
    page.wait_for_url(re.compile("hangingProtocolId=neuronova.currentPrior"))
    page.wait_for_function(
        f"() => {{ const v = ({VIEWPORTS})(); return v.length === 2 && v.every(x => x.study); }}",
        timeout=120_000,
    )
    wait_for_rendered_image(page)
    shown = page.evaluate(VIEWPORTS)
    assert {v["study"] for v in shown} == {current, prior}, shown
    assert shown[0]["series"] == shown[1]["series"], f"not the same sequence: {shown}"
    page.get_by_test_id("neuronova-ai-overlay").click()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        shown = page.evaluate(VIEWPORTS)
        if all(v["segs"] > 0 for v in shown):
            break
        time.sleep(1)
    screenshot(page, "followup-3-current-vs-prior")
    assert all(v["segs"] > 0 for v in shown), shown
