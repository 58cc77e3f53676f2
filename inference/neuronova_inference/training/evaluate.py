"""wiring: Dice per label of the shipped ONNX model on held-out generated studies.

    python -m neuronova_inference.training.evaluate \
        --model-dir inference/models/nn-brain-tumour-synth

Each study goes the production way: DICOM instances -> volume in patient space -> model grid ->
ONNX Runtime -> labels on the acquisition grid, compared with the generator's ground truth.
Exits 1 when any label's mean Dice is below --min-dice.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from neuronova_inference.decode import pixels
from neuronova_inference.pipeline import Timings, analyse, load_inputs
from neuronova_inference.registry import load
from neuronova_inference.session import OnnxModel
from neuronova_inference.synthetic.study import SyntheticStudy
from neuronova_inference.training.data import demo_grid, dice

HELD_OUT_FIRST_SEED = 100_000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--cases", type=int, default=10)
    ap.add_argument("--min-dice", type=float, default=0.80)
    ap.add_argument("--small", action="store_true", help="use the small test grid")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    manifest = load(args.model_dir.parent, args.model_dir.name)
    model = OnnxModel(manifest, args.model_dir)
    scores: dict[str, list[float]] = {lab.name: [] for lab in manifest.labels}
    for seed in range(HELD_OUT_FIRST_SEED, HELD_OUT_FIRST_SEED + args.cases):
        study = SyntheticStudy.generate(seed, demo_grid(small=args.small))
        timings = Timings()
        volumes, reference, _ = load_inputs("synthetic", manifest, study, pixels, timings)
        _, labels, _ = analyse(volumes, reference, manifest, model, timings)
        row = [f"seed {seed}"]
        for lab in manifest.labels:
            d = dice(labels, study.labels, lab.value)
            scores[lab.name].append(d)
            row.append(f"{lab.name} {d:.3f}")
        print("  ".join(row), flush=True)
    means = {name: float(np.mean(v)) for name, v in scores.items()}
    for name, value in means.items():
        print(f"mean Dice {name}: {value:.3f} (min {min(scores[name]):.3f})")
    if args.json:
        args.json.write_text(json.dumps({"mean": means, "per_case": scores}, indent=2) + "\n")
    ok = all(v >= args.min_dice for v in means.values())
    print("PASS" if ok else f"FAIL: a label is below {args.min_dice}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
