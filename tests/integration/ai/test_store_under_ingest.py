"""A SEG stored through /neuronova/seg while modalities push by C-STORE: nothing hangs.

The SEG is stored by ``orthanc.RestApiPost`` inside the
REST callback; unless the Python plugin releases the GIL during SDK calls (orthanc.json's
``Python.AllowThreads``), that deadlocks within a few SEG posts: the REST thread holds the GIL
and waits for the plugin engine's mutex, a C-STORE thread holds that mutex and waits for the GIL
in the received-instance callback. Every association then times out and the SEG is never stored
(checked on Orthanc 1.13 + plugin 7.1 with the option off: a ReadTimeout after 6 posts).
The HTTP timeouts below only turn such a hang into a failure; nothing here measures speed.
"""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

import numpy as np
import requests
from neuronova_contracts import registry
from neuronova_inference.seg import build_seg
from neuronova_lab.synthetic.dicom import to_bytes
from neuronova_lab.synthetic.phantom import axial_grid
from neuronova_lab.synthetic.study import SyntheticStudy

from tests.support.models import MODELS_DIR, SHIPPED_MODEL
from tests.support.orthanc import running_orthanc, synthetic_mr_series, write_series

REPO = Path(__file__).resolve().parents[3]
ASSOCIATIONS, SLICES = 4, 100
HANG_S = 60.0  # a healthy store of one small SEG takes well under a second here


def test_seg_posts_during_cstore_ingest_all_complete(tmp_path: Path) -> None:
    manifest = registry.load(MODELS_DIR, SHIPPED_MODEL)
    study = SyntheticStudy.generate(31, axial_grid((16, 48, 48), (9.0, 4.5, 4.5), np.zeros(3)))
    reference = sorted(
        next(iter(study.series.values())), key=lambda ds: float(ds.ImagePositionPatient[2])
    )
    labels = np.zeros((len(reference), 48, 48), np.uint8)
    labels[6:10, 18:30, 18:30] = 1
    seg = build_seg(reference, labels, manifest)
    body = json.dumps({"seg": base64.b64encode(to_bytes(seg)).decode()})
    folders = [
        write_series(
            synthetic_mr_series(SLICES, rows=96, columns=96, seed=100 + k), tmp_path / f"s{k}"
        )
        for k in range(ASSOCIATIONS)
    ]

    with running_orthanc(tmp_path / "orthanc") as orthanc:
        http = orthanc.session()
        for ds in reference:
            http.post(f"{orthanc.url}/instances", data=to_bytes(ds)).raise_for_status()
        codes: dict[int, int] = {}

        def push(k: int) -> None:
            codes[k] = orthanc.storescu(*folders[k], timeout_s=300).returncode

        pushers = [threading.Thread(target=push, args=(k,)) for k in range(ASSOCIATIONS)]
        for thread in pushers:
            thread.start()
        answers: list[int | str] = []
        try:
            # At least a few posts, and keep posting for as long as the associations run.
            while len(answers) < 5 or any(t.is_alive() for t in pushers):
                try:
                    response = http.post(f"{orthanc.url}/neuronova/seg", data=body, timeout=HANG_S)
                    answers.append(response.status_code)
                except requests.RequestException as exc:
                    answers.append(type(exc).__name__)
                if answers[-1] != 200:
                    break
        finally:
            for thread in pushers:
                thread.join(320)

        assert set(answers) == {200}, f"SEG posts answered {answers[-3:]} after {len(answers)}"
        assert codes == dict.fromkeys(range(ASSOCIATIONS), 0)
        stored = http.get(f"{orthanc.url}/instances").json()
        assert len(stored) == len(reference) + ASSOCIATIONS * SLICES + 1
        found = http.post(f"{orthanc.url}/tools/lookup", data=str(seg.SOPInstanceUID)).json()
        assert [hit["Type"] for hit in found] == ["Instance"]
