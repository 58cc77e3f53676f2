"""Test helpers (pure) for the AI pipeline: small generated studies, manifests, a fake host."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from neuronova_contracts.manifest import Manifest, parse_manifest
from neuronova_lab.synthetic.phantom import Grid, axial_grid
from neuronova_lab.synthetic.study import SyntheticStudy
from numpy.typing import NDArray

from tests.support.models import MODELS_DIR, SHIPPED_MODEL, shipped_manifest_raw

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = MODELS_DIR / SHIPPED_MODEL


def manifest_raw() -> dict[str, Any]:
    return shipped_manifest_raw()


def shipped_manifest() -> Manifest:
    return parse_manifest(manifest_raw())


def tiny_grid() -> Any:
    """16 slices of 48x48 at 4.5 mm: enough head and tumour for geometry tests, fast to render."""
    return axial_grid((16, 48, 48), (9.0, 4.5, 4.5), np.zeros(3))


@lru_cache(maxsize=4)
def tiny_study(seed: int = 7) -> SyntheticStudy:
    return SyntheticStudy.generate(seed, tiny_grid())


def oracle_predictor(
    study: SyntheticStudy, manifest: Manifest
) -> Callable[[Any], NDArray[np.float32]]:
    """A 'network' that returns one-hot logits of the ground truth resampled to the model grid.

    With it, the pipeline's geometry (volume assembly, resampling there and back) is tested
    independently of any trained weights. Like a real network it follows its input: given the
    mirrored input (quality control's second pass) it answers the mirrored truth.
    """
    from neuronova_inference.decode import pixels  # noqa: PLC0415
    from neuronova_inference.pipeline import Timings, load_inputs  # noqa: PLC0415
    from neuronova_inference.preprocess import resample, to_model_space  # noqa: PLC0415
    from neuronova_inference.qc import flip_lr  # noqa: PLC0415

    volumes, _, _ = load_inputs("x", manifest, study, pixels, Timings())
    ref = manifest.reference_index
    expected, affine = to_model_space(
        volumes, manifest.grid, manifest.normalisation, manifest.reference_index
    )
    if study.phantom is not None:
        # The phantom's anatomy where the model grid really is in patient space: an error in
        # how the pipeline places any grid then shows up as a misplaced SEG.
        truth = study.phantom.truth(Grid(manifest.grid.shape, affine)).astype(np.int64)
    else:
        truth = resample(
            study.labels.astype(np.float32),
            volumes[ref].affine,
            manifest.grid.shape,
            affine,
            order=0,
        ).astype(np.int64)
    classes = manifest.output_channels
    channel = np.zeros(len(manifest.labels) + 1, dtype=np.int64)
    for lab in manifest.labels:
        channel[lab.value] = lab.output_channel
    onehot = np.eye(classes, dtype=np.float32)[channel[truth]]  # (*grid, classes)
    logits = (np.moveaxis(onehot, -1, 0)[None] * 10.0).astype(np.float32)

    def predict(x: Any) -> NDArray[np.float32]:
        if np.array_equal(x, expected):
            return logits
        if np.array_equal(x, flip_lr(expected, manifest.grid)):
            return flip_lr(logits, manifest.grid)
        raise AssertionError("the oracle was given an input the pipeline should not produce")

    return predict


class FakeHost:
    """An in-memory stand-in for Orthanc's REST API, as the plugin's AI code sees it."""

    def __init__(self) -> None:
        self.get: dict[str, Any] = {}
        self.lookup: dict[str, list[dict[str, str]]] = {}
        self.posted: list[tuple[str, bytes]] = []
        self.deleted: list[str] = []
        self.logs: list[str] = []

    def rest_get(self, uri: str) -> bytes:
        from neuronova_plugin.host import HostError  # noqa: PLC0415

        if uri not in self.get:
            raise HostError(f"GET {uri}: unknown resource")
        value = self.get[uri]
        return json.dumps(value() if callable(value) else value).encode()

    def rest_post(self, uri: str, body: bytes) -> bytes:
        self.posted.append((uri, body))
        if uri == "/tools/lookup":
            return json.dumps(self.lookup.get(body.decode(), [])).encode()
        if uri == "/instances":
            return json.dumps({"ID": "new-instance", "ParentSeries": "seg-series"}).encode()
        raise AssertionError(f"unexpected POST {uri}")

    def rest_delete(self, uri: str) -> None:
        self.deleted.append(uri)

    def log_info(self, message: str) -> None:
        self.logs.append(message)

    log_warning = log_info
    log_error = log_info
