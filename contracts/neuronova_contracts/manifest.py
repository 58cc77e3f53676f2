"""Pure: the model manifest (inputs with matching rules, grid, normalisation, labels), frozen.

Every model the pipeline runs is described by a manifest.json next to its ONNX file; nothing about
a particular model is hard-coded, so a BraTS model exported from MONAI or nnU-Net drops in with its
own manifest. The plugin reads its inputs (eligibility), the inference service all of it, the
portal its labels (codes and colours of the report).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class ManifestError(ValueError):
    """The manifest is malformed or inconsistent."""


@dataclass(frozen=True)
class InputSpec:
    """One required MR sequence: matched when any ``any_of`` rule and no ``none_of`` rule holds.

    A rule maps DICOM keywords to case-insensitive regular expressions searched in the value;
    all entries of a rule must match.
    """

    name: str
    any_of: tuple[Mapping[str, str], ...]
    none_of: tuple[Mapping[str, str], ...]


@dataclass(frozen=True)
class Code:
    scheme: str
    value: str
    meaning: str


@dataclass(frozen=True)
class LabelSpec:
    value: int  # segment number in the SEG and the report (1..N)
    name: str
    category: Code
    property_type: Code
    color_rgb: tuple[int, int, int]
    output_channel: int  # softmax outputs: the class index of this label (default: ``value``)


@dataclass(frozen=True)
class GridSpec:
    shape: tuple[int, int, int]  # in the model's array order
    spacing_mm: tuple[float, float, float]
    orientation: str  # "LPS" or "RAS": direction of increasing index along x, y, z
    axis_order: str  # "zyx" (array index 0 is z) or "xyz"
    centre: str = "foreground"  # of the reference input, or "volume" (its field-of-view centre)


@dataclass(frozen=True)
class Region:
    """Sigmoid outputs: where ``channel`` > threshold, paint ``label`` (later regions win)."""

    channel: int
    label: int


@dataclass(frozen=True)
class QcSpec:
    """Quality control: test-time left-right flip and softmax entropy; below threshold = review."""

    flip: bool
    threshold: float


@dataclass(frozen=True)
class Normalisation:
    method: str  # "zscore_foreground" | "zscore_nonzero"
    foreground_threshold: float  # fraction of the 99th percentile (zscore_foreground)
    clip: tuple[float, float]


@dataclass(frozen=True)
class Manifest:
    model_id: str
    version: str
    name: str
    onnx_file: str
    sha256: str
    input_name: str
    output_name: str
    # "logits" / "probabilities": one class per channel (softmax applied to logits here);
    # "sigmoid_logits" / "sigmoid_probabilities": overlapping regions painted into labels.
    output_kind: str
    modality: str
    inputs: tuple[InputSpec, ...]
    grid: GridSpec
    normalisation: Normalisation
    labels: tuple[LabelSpec, ...]
    anatomy: Code
    min_component_ml: float
    # A tumour component (all labels together) holding less than ``min_core_ml`` of these labels
    # is erased (e.g. "oedema" with no tumour core in it); empty: no such rule.
    core_labels: tuple[int, ...]
    min_core_ml: float
    reference_input: str  # the series the grid is centred on and the SEG is written on
    regions: tuple[Region, ...]
    region_threshold: float
    qc: QcSpec

    @property
    def job_key(self) -> str:
        return f"{self.model_id}@{self.version}"

    @property
    def sigmoid(self) -> bool:
        return self.output_kind.startswith("sigmoid")

    @property
    def output_channels(self) -> int:
        if self.sigmoid:
            return max(r.channel for r in self.regions) + 1
        return max(lab.output_channel for lab in self.labels) + 1

    @property
    def reference_index(self) -> int:
        return [i.name for i in self.inputs].index(self.reference_input)


def _code(raw: Mapping[str, Any]) -> Code:
    return Code(scheme=str(raw["scheme"]), value=str(raw["code"]), meaning=str(raw["meaning"]))


def _rules(raw: list[Mapping[str, object]] | None) -> tuple[Mapping[str, str], ...]:
    return tuple({str(k): str(v) for k, v in rule.items()} for rule in (raw or []))


def parse_manifest(raw: Mapping[str, Any]) -> Manifest:
    """Validate and freeze a manifest read from JSON; raise ManifestError naming the problem."""
    try:
        grid = raw["grid"]
        norm = raw.get("normalisation", {})
        labels = tuple(
            LabelSpec(
                value=int(lab["value"]),
                name=str(lab["name"]),
                category=_code(lab["category"]),
                property_type=_code(lab["type"]),
                color_rgb=(
                    int(lab["color_rgb"][0]),
                    int(lab["color_rgb"][1]),
                    int(lab["color_rgb"][2]),
                ),
                output_channel=int(lab.get("output_channel", lab["value"])),
            )
            for lab in raw["labels"]
        )
        output = raw.get("output", {})
        qc = raw.get("qc", {})
        manifest = Manifest(
            model_id=str(raw["model_id"]),
            version=str(raw["version"]),
            name=str(raw.get("name", raw["model_id"])),
            onnx_file=str(raw["onnx"]["file"]),
            sha256=str(raw["onnx"]["sha256"]),
            input_name=str(raw["onnx"].get("input_name", "image")),
            output_name=str(raw["onnx"].get("output_name", "logits")),
            output_kind=str(raw["onnx"].get("output_kind", "logits")),
            modality=str(raw.get("modality", "MR")),
            inputs=tuple(
                InputSpec(
                    name=str(i["name"]),
                    any_of=_rules(i["any_of"]),
                    none_of=_rules(i.get("none_of")),
                )
                for i in raw["inputs"]
            ),
            grid=GridSpec(
                shape=(int(grid["shape"][0]), int(grid["shape"][1]), int(grid["shape"][2])),
                spacing_mm=(
                    float(grid["spacing_mm"][0]),
                    float(grid["spacing_mm"][1]),
                    float(grid["spacing_mm"][2]),
                ),
                orientation=str(grid.get("orientation", "LPS")),
                axis_order=str(grid.get("axis_order", "zyx")),
                centre=str(grid.get("centre", "foreground")),
            ),
            normalisation=Normalisation(
                method=str(norm.get("method", "zscore_foreground")),
                foreground_threshold=float(norm.get("foreground_threshold", 0.1)),
                clip=(float(norm.get("clip", [-5, 5])[0]), float(norm.get("clip", [-5, 5])[1])),
            ),
            labels=labels,
            anatomy=_code(
                raw.get("anatomy", {"scheme": "SCT", "code": "12738006", "meaning": "Brain"})
            ),
            min_component_ml=float(raw.get("postprocess", {}).get("min_component_ml", 0.0)),
            core_labels=tuple(int(v) for v in raw.get("postprocess", {}).get("core_labels", [])),
            min_core_ml=float(raw.get("postprocess", {}).get("min_core_ml", 0.0)),
            reference_input=str(
                raw.get("reference_input") or next((i["name"] for i in raw["inputs"]), "")
            ),
            regions=tuple(
                Region(channel=int(r["channel"]), label=int(r["label"]))
                for r in output.get("regions", [])
            ),
            region_threshold=float(output.get("threshold", 0.5)),
            qc=QcSpec(flip=bool(qc.get("flip", True)), threshold=float(qc.get("threshold", 0.0))),
        )
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise ManifestError(f"invalid manifest: {exc!r}") from exc
    _check(manifest)
    return manifest


def _check_postprocess(m: Manifest, values: list[int]) -> None:
    if any(v not in values for v in m.core_labels):
        raise ManifestError(f"postprocess core_labels must be label values, got {m.core_labels}")
    if m.min_core_ml < 0 or m.min_component_ml < 0:
        raise ManifestError("postprocess volumes must not be negative")


def _check(m: Manifest) -> None:
    if not m.inputs:
        raise ManifestError("manifest lists no inputs")
    if m.grid.orientation not in {"LPS", "RAS"} or m.grid.axis_order not in {"zyx", "xyz"}:
        raise ManifestError(f"unsupported grid {m.grid.orientation}/{m.grid.axis_order}")
    if m.normalisation.method not in {"zscore_foreground", "zscore_nonzero"}:
        raise ManifestError(f"unsupported normalisation {m.normalisation.method}")
    if m.grid.centre not in {"foreground", "volume"}:
        raise ManifestError(f"unsupported grid centre {m.grid.centre}")
    if m.output_kind not in {"logits", "probabilities", "sigmoid_logits", "sigmoid_probabilities"}:
        raise ManifestError(f"unsupported output kind {m.output_kind}")
    values = [lab.value for lab in m.labels]
    if any(not 0 <= v <= 255 for lab in m.labels for v in lab.color_rgb):
        raise ManifestError("label colours must be RGB values 0..255")
    if sorted(values) != list(range(1, len(values) + 1)):
        raise ManifestError(f"label values must be 1..N, got {values}")
    _check_postprocess(m, values)
    if m.reference_input not in [i.name for i in m.inputs]:
        raise ManifestError(f"reference_input {m.reference_input!r} is not one of the inputs")
    if m.sigmoid:
        if not m.regions or any(r.label not in values or r.channel < 0 for r in m.regions):
            raise ManifestError("sigmoid outputs need regions painting the manifest's labels")
    else:
        channels = [lab.output_channel for lab in m.labels]
        if len(set(channels)) != len(channels) or min(channels) < 1:
            raise ManifestError(f"label output channels must be distinct and >= 1, got {channels}")
