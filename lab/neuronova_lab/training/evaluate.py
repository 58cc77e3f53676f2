"""wiring: evaluate a model on generated studies: in-distribution, shifted and no-tumour sets.

    python -m neuronova_lab.training.evaluate \
        --model-dir models/nn-brain-tumour-synth --json /tmp/eval.json

Each study goes the production way: DICOM instances -> volumes in patient space -> model grid ->
ONNX Runtime (with the quality-control flip) -> labels on the reference series' grid, compared
with the generator's ground truth sampled on that grid. Sets (seeds never used in training):

- in-distribution: the training ranges, always a tumour (seeds from 100000);
- shifted: every acquisition and appearance setting outside the training ranges (ranges.py),
  always a tumour (seeds from 200000);
- no-tumour: the training ranges without tumour (seeds from 300000): false-positive volume;
- demo (``--demo N``, none by default): what `make demo` sends and the first shipped model was
  trained on, a clean axial protocol with one enhancing tumour (seeds from 500000).

``--calibrate N`` instead scores N validation studies from the training ranges (seeds from
400000) and prints the QC score percentiles and the threshold: the 5th percentile of the score
over the *good* results (metrics.qc_threshold), with how many bad and good results it flags.
Exits 1 when an acceptance target (training.metrics.acceptance) is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
from neuronova_contracts.registry import load
from neuronova_inference.decode import pixels
from neuronova_inference.pipeline import Timings, analyse, load_inputs
from neuronova_inference.session import OnnxModel

from neuronova_lab.synthetic.geometry import Grid
from neuronova_lab.synthetic.ranges import (
    DEMO,
    IN_DISTRIBUTION,
    NO_TUMOUR,
    SHIFTED,
    TRAINING,
    Ranges,
)
from neuronova_lab.synthetic.study import SyntheticStudy
from neuronova_lab.training.metrics import (
    WHOLE,
    Case,
    acceptance,
    flag_counts,
    qc_threshold,
    score_case,
    summarise_no_tumour_set,
    summarise_tumour_set,
)

SETS: dict[str, tuple[Ranges, int]] = {
    "in-distribution": (IN_DISTRIBUTION, 100_000),
    "shifted": (SHIFTED, 200_000),
    "no-tumour": (NO_TUMOUR, 300_000),
    "calibration": (TRAINING, 400_000),
    "demo": (DEMO, 500_000),
}
_MODELS: dict[Path, OnnxModel] = {}


def _model(model_dir: Path) -> OnnxModel:
    """One ONNX Runtime session per model and worker process."""
    if model_dir not in _MODELS:
        _MODELS[model_dir] = OnnxModel(load(model_dir.parent, model_dir.name), model_dir, threads=1)
    return _MODELS[model_dir]


def evaluate_case(job: tuple[tuple[Path, ...], str, int]) -> list[Case]:
    """The study of ``seed``, rendered once, scored for each model (in ``model_dirs`` order)."""
    model_dirs, set_name, seed = job
    study = SyntheticStudy.randomised(seed, SETS[set_name][0])
    assert study.phantom is not None
    acquisitions = ", ".join(
        f"{s.spec.sequence} {s.spec.plane} {s.spec.thickness_mm:.1f}mm "
        f"{s.grid.shape[1]}x{s.grid.shape[2]}"
        for s in study.phantom.series
    )
    cases = []
    for model_dir in model_dirs:
        model = _model(model_dir)
        manifest = model.manifest
        timings = Timings()
        volumes, reference, _ = load_inputs("synthetic", manifest, study, pixels, timings)
        result = analyse(volumes, reference, manifest, model, timings)
        ref = volumes[manifest.reference_index]
        shape = (ref.array.shape[0], ref.array.shape[1], ref.array.shape[2])
        truth = study.phantom.truth(Grid(shape, ref.affine))
        cases.append(
            score_case(
                seed,
                pred=result.labels,
                truth=truth,
                labels={lab.value: lab.name for lab in manifest.labels},
                voxel_ml=ref.voxel_ml,
                quality=result.quality.as_dict(),
                acquisition=acquisitions,
            )
        )
    return cases


def _print_case(set_name: str, case: Case) -> None:
    dice = "  ".join(f"{k} {v:.3f}" for k, v in case.dice.items())
    print(
        f"{set_name} seed {case.seed}: {dice}  WT {case.true_ml['whole tumour']:.1f}"
        f"->{case.predicted_ml['whole tumour']:.1f} mL  qc {case.qc_score:.3f}"
        f"{' REVIEW' if case.needs_review else ''}",
        flush=True,
    )


def _run_set(
    pool: Any,  # noqa: ANN401 - multiprocessing.Pool
    model_dirs: tuple[Path, ...],
    set_name: str,
    cases: int,
) -> list[list[Case]]:
    """Each model's cases of the set (outer list: models in ``model_dirs`` order)."""
    first = SETS[set_name][1]
    jobs = [(model_dirs, set_name, seed) for seed in range(first, first + cases)]
    out: list[list[Case]] = [[] for _ in model_dirs]
    for per_model in pool.imap(evaluate_case, jobs):
        for i, case in enumerate(per_model):
            prefix = f"[{i}] " if len(model_dirs) > 1 else ""
            _print_case(prefix + set_name, case)
            out[i].append(case)
    return out


def _summarise(set_name: str, cases: list[Case], names: list[str]) -> dict[str, Any]:
    if set_name == "no-tumour":
        return summarise_no_tumour_set(cases)
    return summarise_tumour_set(cases, names)


def _side_by_side(report: dict[str, Any], names: list[str]) -> None:
    """Mean Dice per label and whole tumour, and no-tumour false positives, one column a model."""
    runs = [report, *report.get("compared", {}).values()]
    print("\n" + " " * 44 + "".join(f"{f'[{i}]':>10s}" for i in range(len(runs))))
    for set_name in report["summary"]:
        rows: list[tuple[str, list[str]]] = []
        if set_name == "no-tumour":
            rows.append(("FP <= 0.5 mL (fraction)", ["fraction_within_limit"]))
            rows.append(("FP mL (median)", ["fp_ml", "median"]))
        else:
            for name in [*names, WHOLE]:
                rows.append((f"{name} Dice", ["labels", name, "dice", "mean"]))
        for label, path in rows:
            cells = []
            for run in runs:
                value: Any = run["summary"].get(set_name, {})
                for key in path:
                    value = value.get(key, float("nan")) if isinstance(value, dict) else value
                cells.append(f"{value:10.3f}")
            print(f"{set_name + ' ' + label:44s}{''.join(cells)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--model-dir",
        type=Path,
        action="append",
        required=True,
        help="the model to check; give it again to score other models on the same studies",
    )
    ap.add_argument("--in-distribution", type=int, default=20, help="studies in this set")
    ap.add_argument("--shifted", type=int, default=30)
    ap.add_argument("--no-tumour", type=int, default=20)
    ap.add_argument("--demo", type=int, default=0)
    ap.add_argument("--calibrate", type=int, default=0, help="score this many validation studies")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures and every case here")
    args = ap.parse_args(argv)
    dirs: tuple[Path, ...] = tuple(args.model_dir)
    manifest = load(dirs[0].parent, dirs[0].name)
    names = [lab.name for lab in manifest.labels]
    runs: list[dict[str, Any]] = [
        {"model": load(d.parent, d.name).job_key, "dir": str(d), "summary": {}, "cases": {}}
        for d in dirs
    ]
    report = runs[0]
    with Pool(args.workers) as pool:
        if args.calibrate:
            cases = _run_set(pool, dirs[:1], "calibration", args.calibrate)[0]
            scores = np.array([c.qc_score for c in cases])
            pct = {p: float(np.percentile(scores, p)) for p in (1, 5, 10, 25, 50)}
            print("QC score percentiles on calibration studies:", pct)
            threshold = qc_threshold(cases)
            counts = flag_counts(cases, threshold)
            print(f"QC threshold (5th percentile over good results): {threshold:.4f}; {counts}")
            report["calibration"] = {
                "percentiles": pct,
                "threshold": threshold,
                "flags": counts,
                "cases": [c.as_dict() for c in cases],
            }
        else:
            for set_name in ("in-distribution", "shifted", "no-tumour", "demo"):
                count = getattr(args, set_name.replace("-", "_"))
                if not count:
                    continue
                for run, cases in zip(runs, _run_set(pool, dirs, set_name, count), strict=True):
                    run["cases"][set_name] = [c.as_dict() for c in cases]
                    run["summary"][set_name] = _summarise(set_name, cases, names)
    if len(runs) > 1:
        report["compared"] = {f"[{i}] {run['dir']}": run for i, run in enumerate(runs[1:], 1)}
        _side_by_side(report, names)
    print(json.dumps(report["summary"], indent=2))
    checks = acceptance(report["summary"], names)
    report["acceptance"] = [{"target": t, "met": ok} for t, ok in checks]
    for target, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {target}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
