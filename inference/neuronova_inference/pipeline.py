"""pure: one study through the model: match series, build volumes, predict, post-process, build SEG.

Orthanc, the network and the SEG store arrive as Protocol-typed parameters; the function times
each stage so the worker, the API and bench/ai_latency.py report the same split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from neuronova_contracts.jobs import JobState
from neuronova_contracts.manifest import Manifest
from neuronova_contracts.matching import match_study
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from neuronova_inference.postprocess import (
    drop_coreless_components,
    drop_small_components,
    labels_on_source,
    probabilities,
    volumes_ml,
)
from neuronova_inference.preprocess import Volume, to_model_space
from neuronova_inference.qc import Quality, assess, combine, flip_lr
from neuronova_inference.seg import build_seg, dicom_bytes
from neuronova_inference.volume import VolumeError, build_volume


class RefusedError(ValueError):
    """The study cannot be analysed; ``state`` is SKIPPED (not eligible) or FAILED."""

    def __init__(self, state: JobState, reason: str) -> None:
        super().__init__(reason)
        self.state = state
        self.reason = reason


class StudySource(Protocol):
    def series_tags(self, orthanc_study_id: str) -> dict[str, dict[str, str]]: ...

    def instances(self, orthanc_series_id: str) -> list[Dataset]: ...


Predictor = Callable[[NDArray[np.float32]], NDArray[np.float32]]
PixelDecoder = Callable[[Dataset], NDArray[np.float32]]


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


@dataclass(frozen=True)
class Analysis:
    seg: Dataset
    seg_bytes: bytes
    labels: NDArray[np.uint8]  # on the reference series' grid
    reference: Volume
    volumes_ml: dict[str, float]  # label name -> mL
    source_series: dict[str, str]  # input name -> SeriesInstanceUID
    quality: Quality


@dataclass(frozen=True)
class Result:
    seg: Dataset
    labels: NDArray[np.uint8]
    volumes_ml: dict[str, float]
    quality: Quality


def load_inputs(
    orthanc_study_id: str,
    manifest: Manifest,
    source: StudySource,
    decode: PixelDecoder,
    timings: Timings,
) -> tuple[list[Volume], list[Dataset], dict[str, str]]:
    """Fetch and decode the matched series (manifest order) and the SEG's reference series.

    Each series keeps its own geometry; they must share a frame of reference, not a grid.
    """
    with timings.stage("fetch_decode"):
        match = match_study(manifest, source.series_tags(orthanc_study_id))
        if not match.eligible:
            raise RefusedError(JobState.SKIPPED, match.reason)
        volumes: list[Volume] = []
        reference: list[Dataset] = []
        uids: dict[str, str] = {}
        frames: set[str] = set()
        for spec in manifest.inputs:
            datasets = source.instances(match.series[spec.name])
            try:
                volume, ordered = build_volume(datasets, decode)
            except VolumeError as exc:
                raise RefusedError(JobState.FAILED, f"{spec.name} series: {exc}") from exc
            volumes.append(volume)
            uids[spec.name] = str(ordered[0].SeriesInstanceUID)
            frames.add(str(ordered[0].get("FrameOfReferenceUID", "")))
            if spec.name == manifest.reference_input:
                reference = ordered
        if len(frames) != 1:
            raise RefusedError(
                JobState.FAILED, "the required series do not share one frame of reference"
            )
    return volumes, reference, uids


def predict_with_qc(
    x: NDArray[np.float32], manifest: Manifest, predict: Predictor
) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
    """Probabilities of the input and, when the manifest asks, of its mirror (mirrored back)."""
    plain = probabilities(predict(x)[0], manifest)
    if not manifest.qc.flip:
        return plain, None
    mirrored = probabilities(predict(flip_lr(x, manifest.grid))[0], manifest)
    return plain, flip_lr(mirrored, manifest.grid)


def analyse(
    volumes: list[Volume],
    reference: list[Dataset],
    manifest: Manifest,
    predict: Predictor,
    timings: Timings,
) -> Result:
    ref = manifest.reference_index
    with timings.stage("preprocess"):
        x, affine = to_model_space(volumes, manifest.grid, manifest.normalisation, ref)
    with timings.stage("inference"):
        plain, flipped = predict_with_qc(x, manifest, predict)
    with timings.stage("postprocess_seg"):
        model_voxel_ml = float(abs(np.linalg.det(affine[:3, :3]))) / 1000.0
        quality = assess(plain, flipped, manifest, model_voxel_ml)
        labels = labels_on_source(combine(plain, flipped), affine, volumes[ref], manifest)
        labels = drop_small_components(labels, volumes[ref].voxel_ml, manifest.min_component_ml)
        labels = drop_coreless_components(
            labels, volumes[ref].voxel_ml, manifest.core_labels, manifest.min_core_ml
        )
        by_value = volumes_ml(labels, volumes[ref].voxel_ml, len(manifest.labels))
        named = {lab.name: by_value[lab.value] for lab in manifest.labels}
        seg = build_seg(reference, labels, manifest, needs_review=quality.needs_review)
    return Result(seg, labels, named, quality)


def run_study(
    orthanc_study_id: str,
    manifest: Manifest,
    source: StudySource,
    *,
    predict: Predictor,
    decode: PixelDecoder,
    timings: Timings | None = None,
) -> Analysis:
    timings = timings if timings is not None else Timings()
    volumes, reference, uids = load_inputs(orthanc_study_id, manifest, source, decode, timings)
    result = analyse(volumes, reference, manifest, predict, timings)
    with timings.stage("postprocess_seg"):
        seg_bytes = dicom_bytes(result.seg)
    return Analysis(
        result.seg,
        seg_bytes,
        result.labels,
        volumes[manifest.reference_index],
        result.volumes_ml,
        uids,
        result.quality,
    )


def summary(analysis: Analysis, manifest: Manifest, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        **extra,
        "model_id": manifest.model_id,
        "model_version": manifest.version,
        "seg_series_uid": str(analysis.seg.SeriesInstanceUID),
        "seg_sop_instance_uid": str(analysis.seg.SOPInstanceUID),
        "study_uid": str(analysis.seg.StudyInstanceUID),
        "source_series": analysis.source_series,
        "volumes_ml": analysis.volumes_ml,
        "qc_score": round(analysis.quality.score, 4),
        "needs_review": analysis.quality.needs_review,
        "qc": analysis.quality.as_dict(),
    }
