import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveMode } from "../mode/index";
import { findSegDisplaySet, type DisplaySet } from "../extension/overlay";
import { loginUrl, studyUidsFromLocation } from "../extension/portal-api";

const basic = {
  id: "@ohif/mode-basic",
  routeName: "basic",
  displayName: "Basic",
  hide: true,
  routes: [
    {
      path: "basic",
      layoutTemplate(this: { layoutInstance: unknown }) {
        return this.layoutInstance;
      },
      layoutInstance: {
        id: "@ohif/extension-default.layoutTemplateModule.viewerLayout",
        props: { leftPanels: ["thumbs"], rightPanels: ["seg", "measure"], rightPanelClosed: true },
      },
    },
  ],
  extensions: { "@ohif/extension-default": "^3.0.0" },
  sopClassHandlers: ["x"],
};

test("the NeuroNova mode is mode-basic with route ai and the AI + segmentation panels", () => {
  const mode = deriveMode(basic, "/pacs-viewer/neuronova/extension.abc.js");
  assert.equal(mode.id, "neuronova-ai");
  assert.equal(mode.routeName, "ai");
  assert.equal(mode.hide, false);
  assert.equal(mode.routes[0].path, "ai");
  const layout = mode.routes[0].layoutTemplate.call(mode.routes[0]) as { props: Record<string, unknown> };
  assert.deepEqual(layout.props.rightPanels, [
    "neuronova.panelModule.ai",
    "@ohif/extension-cornerstone.panelModule.panelSegmentation",
  ]);
  assert.equal(layout.props.rightPanelClosed, false);
  assert.deepEqual(layout.props.leftPanels, ["thumbs"]);
  assert.deepEqual(mode.extensions, {
    "@ohif/extension-default": "^3.0.0",
    "/pacs-viewer/neuronova/extension.abc.js": "^1.0.0",
  });
  assert.deepEqual(basic.routes[0].layoutInstance.props.rightPanels, ["seg", "measure"], "base untouched");
});

test("deriveMode fails loudly when mode-basic's shape changes", () => {
  assert.throws(() => deriveMode({ ...basic, routes: [] }, "/x.js"), /shape changed/);
});

test("the overlay uses the report's SEG series, else the newest SEG", () => {
  const sets: DisplaySet[] = [
    { displaySetInstanceUID: "a", SeriesInstanceUID: "1", Modality: "MR" },
    { displaySetInstanceUID: "b", SeriesInstanceUID: "2", Modality: "SEG", SeriesDate: "20240101", SeriesTime: "1000" },
    { displaySetInstanceUID: "c", SeriesInstanceUID: "3", Modality: "SEG", SeriesDate: "20240102", SeriesTime: "0900" },
  ];
  assert.equal(findSegDisplaySet(sets, "2")?.displaySetInstanceUID, "b");
  assert.equal(findSegDisplaySet(sets, null)?.displaySetInstanceUID, "c");
  assert.equal(findSegDisplaySet(sets, "9"), undefined);
  assert.equal(findSegDisplaySet(sets, "1"), undefined, "an MR series is never the overlay");
});

test("study UIDs come from the viewer URL and the login link keeps the way back", () => {
  assert.deepEqual(studyUidsFromLocation("?StudyInstanceUIDs=1.2.3,4.5"), ["1.2.3", "4.5"]);
  assert.deepEqual(studyUidsFromLocation("?foo=1"), []);
  assert.equal(
    loginUrl("/pacs-viewer/ai?StudyInstanceUIDs=1.2"),
    "/login?expired=1&next=%2Fpacs-viewer%2Fai%3FStudyInstanceUIDs%3D1.2",
  );
});
