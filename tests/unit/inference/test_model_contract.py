"""A BraTS-style model drops in by manifest alone: four channels T1, T1c, T2, FLAIR on a 1 mm
isotropic RAS grid (array order x, y, z), z-score per channel over non-zero voxels, output
classes in BraTS order with "label 4" (enhancing) in the last channel.

The ONNX network is built here with random weights plus two fixed parts that make its answer
checkable: the enhancing-tumour logit is (T1c - T1) (contrast uptake, so the channel order
matters) and it is only allowed in the lower half of the first array axis, which on an RAS grid is
the patient's left (so the orientation matters). The tumour of the study is on the left.
"""

from __future__ import annotations

import copy
import json
from io import BytesIO
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import onnx
import pytest
from neuronova_contracts.manifest import parse_manifest
from neuronova_contracts.registry import load
from neuronova_inference.decode import pixels
from neuronova_inference.pipeline import run_study
from neuronova_inference.session import OnnxModel, sha256_file
from neuronova_lab.synthetic.geometry import axial_grid
from neuronova_lab.synthetic.study import SyntheticStudy
from onnx import TensorProto, helper, numpy_helper

from tests.support.synthetic import manifest_raw

SHAPE = (144, 160, 112)  # x, y, z at 1 mm: covers the brain of the phantom
SEED = 1  # its tumour lies on the patient's left (LPS x > 0)


def _network(path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y, z = SHAPE
    w = np.zeros((4, 4, 1, 1, 1), np.float32)  # output class <- input channel (T1,T1c,T2,FLAIR)
    w[3, 1], w[3, 0] = 3.0, -3.0  # class 3 ("label 4", enhancing): T1c brighter than T1
    w[2, 3] = 1.0  # class 2 (oedema): FLAIR
    bias = np.array([2.5, -20.0, 0.0, -3.0], np.float32)  # class 1 never wins here
    position = np.zeros((1, 4, x, y, z), np.float32)
    position[0, 3, x // 2 :] = -100.0  # no enhancing tumour in the upper half of axis 0
    noise = rng.normal(0, 0.01, (4, 4, 3, 3, 3)).astype(np.float32)  # the "random weights"
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "w", "b"], ["fixed"]),
            helper.make_node("Conv", ["input", "noise"], ["random"], pads=[1] * 6),
            helper.make_node("Add", ["fixed", "random"], ["sum"]),
            helper.make_node("Add", ["sum", "position"], ["logits"]),
        ],
        "brats_shaped",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4, x, y, z])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4, x, y, z])],
        [
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(bias, "b"),
            numpy_helper.from_array(noise, "noise"),
            numpy_helper.from_array(position, "position"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _brats_manifest(model_dir: Path) -> dict[str, Any]:
    raw = copy.deepcopy(manifest_raw())
    shipped = {lab["name"]: lab for lab in raw["labels"]}
    raw.update(
        model_id="brats-shaped-test",
        version="0.0.1",
        onnx={
            "file": "model.onnx",
            "sha256": sha256_file(model_dir / "model.onnx"),
            "input_name": "input",
            "output_name": "logits",
            "output_kind": "logits",
        },
        grid={
            "shape": list(SHAPE),
            "spacing_mm": [1.0, 1.0, 1.0],
            "orientation": "RAS",
            "axis_order": "xyz",
            "centre": "foreground",
        },
        normalisation={"method": "zscore_nonzero", "clip": [-5, 5]},
        # Segment numbers are the report's; output channels are the network's (BraTS order).
        labels=[
            {**shipped["Enhancing tumour"], "value": 1, "output_channel": 3},
            {**shipped["Necrotic tumour core"], "value": 2, "output_channel": 1},
            {**shipped["Peritumoural oedema"], "value": 3, "output_channel": 2},
        ],
        reference_input="FLAIR",
        qc={"flip": False, "threshold": 0.0},
        postprocess={"min_component_ml": 0.0},
    )
    return raw


@pytest.fixture(scope="module")
def brats_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = tmp_path_factory.mktemp("models") / "brats-shaped-test"
    model_dir.mkdir()
    _network(model_dir / "model.onnx")
    (model_dir / "manifest.json").write_text(json.dumps(_brats_manifest(model_dir)))
    return model_dir


@pytest.fixture(scope="module")
def brats(brats_dir: Path) -> OnnxModel:
    manifest = load(brats_dir.parent, brats_dir.name)  # the registry, as the worker loads it
    return OnnxModel(manifest, brats_dir)


@pytest.fixture(scope="module")
def study() -> SyntheticStudy:
    return SyntheticStudy.generate(SEED, axial_grid((30, 64, 64), (5.0, 3.6, 3.6), np.zeros(3)))


def test_brats_shaped_model_runs_by_manifest_and_its_labels_land_right(
    brats: OnnxModel, study: SyntheticStudy
) -> None:
    manifest = brats.manifest
    assert study.phantom is not None
    result = run_study("x", manifest, study, predict=brats, decode=pixels)

    # The SEG is on the reference input (FLAIR) and names segment 1 as enhancing tumour.
    flair = result.source_series["FLAIR"]
    seg = hd.seg.segread(BytesIO(result.seg_bytes))
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == flair
    first = seg.SegmentSequence[0]
    assert first.SegmentLabel == "Enhancing tumour"
    assert first.SegmentedPropertyTypeCodeSequence[0].CodeValue == "108369006"

    labels = result.labels
    assert labels.shape == (30, 64, 64)  # the FLAIR series' own grid
    enhancing = labels == 1
    assert enhancing.any()
    # Orientation: every enhancing voxel is on the patient's left (LPS x above the head centre).
    ref = result.reference
    idx = np.argwhere(enhancing).T.astype(np.float64)
    lps = ref.affine[:3, :3] @ idx + ref.affine[:3, 3:4]
    head_x = study.phantom.spec.anatomy.head_centre[0]
    assert lps[0].min() > head_x - 2.0
    # Channel order: contrast uptake finds the real enhancing rim.
    truth_et = study.labels == 3  # all series share this grid here
    precision = float((enhancing & truth_et).sum()) / float(enhancing.sum())
    assert precision > 0.5
    # Label mapping: output channel 1 (class never winning) -> segment 2 stays empty.
    assert result.volumes_ml["Necrotic tumour core"] == 0.0
    assert result.volumes_ml["Enhancing tumour"] > 0.5


def test_the_same_model_read_as_lps_misses_the_lesion(
    brats: OnnxModel, brats_dir: Path, study: SyntheticStudy
) -> None:
    """The orientation check above can fail: an LPS reading of this RAS network mirrors it."""
    raw = _brats_manifest(brats_dir)
    raw["grid"]["orientation"] = "LPS"
    manifest = parse_manifest(raw)
    result = run_study("x", manifest, study, predict=brats, decode=pixels)
    truth_et = study.labels == 3
    assert float(((result.labels == 1) & truth_et).sum()) < 0.1 * float(truth_et.sum())


def test_manifest_refuses_inconsistent_contracts() -> None:
    raw = copy.deepcopy(manifest_raw())
    raw["reference_input"] = "DWI"
    with pytest.raises(ValueError, match="reference_input"):
        parse_manifest(raw)
    raw = copy.deepcopy(manifest_raw())
    raw["labels"][1]["output_channel"] = raw["labels"][0].get("output_channel", 1)
    with pytest.raises(ValueError, match="output channels"):
        parse_manifest(raw)
    raw = copy.deepcopy(manifest_raw())
    raw["onnx"]["output_kind"] = "sigmoid_logits"
    with pytest.raises(ValueError, match="regions"):
        parse_manifest(raw)
