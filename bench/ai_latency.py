"""Benchmark (wiring, CLI): one AI job's latency, shipped model vs the previous one side by side.

Run: ``.venv/bin/python bench/ai_latency.py [--rounds 3] [--preset clinical24]``.

Without --orthanc-url it starts a private Orthanc with the plugin (tests/support/orthanc.py),
stores a generated study through REST (the plugin re-encodes it to HTJ2K; default preset
``clinical24``: 4 series x 24 axial slices of 256 x 256, the latency target's case) and runs the
worker's own code path in-process against it: fetch+decode, preprocess, inference (with the
quality-control flip where the manifest asks for it), postprocess+SEG, store. The baseline is the
model of an earlier commit (--baseline-rev, default nn-brain-tumour-synth 1.1.0) read from git
into a temporary registry and run with its own settings (no QC flip), alternating with the
shipped model on the same stored study. ``--candidate DIR`` adds a third column: the model in
DIR/<model id> (a retrained model not shipped yet), run with its own manifest. Then it times the
shipped ONNX model against its PyTorch original (weights.pt, needs the `train` group) on the same
input.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [
    str(REPO),
    *(str(REPO / d) for d in ("inference", "lab", "contracts", "orthanc-plugins")),
]

from neuronova_inference.config import InferenceConfig, from_env  # noqa: E402
from neuronova_inference.decode import pixels  # noqa: E402
from neuronova_inference.pipeline import Timings, load_inputs  # noqa: E402
from neuronova_inference.preprocess import to_model_space  # noqa: E402
from neuronova_inference.service import model, segment  # noqa: E402
from neuronova_lab.synthetic.dicom import series_datasets, to_bytes  # noqa: E402
from neuronova_lab.synthetic.phantom import render  # noqa: E402
from neuronova_lab.synthetic.presets import PRESETS  # noqa: E402
from neuronova_lab.synthetic.study import SyntheticStudy  # noqa: E402

STAGES = ("fetch_decode", "preprocess", "inference", "postprocess_seg", "store")
MODEL_ID = "nn-brain-tumour-synth"
BASELINE_REV = "f90b1b3"  # nn-brain-tumour-synth 1.1.0, the model before domain randomisation
SEED = 424242
BUDGET_S = 60.0  # the job's share of "StableAge + 60 s"


def _baseline_registry(rev: str, folder: Path) -> Path:
    """The model directory of ``rev`` under ``folder``/<model id> (files from git)."""
    target = folder / MODEL_ID
    target.mkdir(parents=True)
    for name in ("manifest.json", "model.onnx"):
        blob = subprocess.run(
            # Where the models lived at that revision (models/ at the top since).
            ["git", "show", f"{rev}:inference/models/{MODEL_ID}/{name}"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout
        (target / name).write_bytes(blob)
    raw = json.loads((target / "manifest.json").read_text())
    raw.setdefault("qc", {"flip": False, "threshold": 0.0})  # it ran without QC
    raw["grid"].setdefault("centre", "volume")  # and on the field-of-view centre
    (target / "manifest.json").write_text(json.dumps(raw))
    return folder


def _split(configs: dict[str, InferenceConfig], study_id: str, rounds: int) -> None:
    runs: dict[str, dict[str, list[float]]] = {
        name: {s: [] for s in (*STAGES, "total")} for name in configs
    }
    for _ in range(rounds):
        for name, config in configs.items():  # alternating, so load affects both alike
            outcome = segment(
                config,
                orthanc_study_id=study_id,
                model_id=MODEL_ID,
                model_version=None,
                store=True,
                job={"job_id": f"bench-{name}"},
            )
            for stage in STAGES:
                runs[name][stage].append(outcome.timings.get(stage, 0.0))
            runs[name]["total"].append(sum(outcome.timings.values()))
    versions = {name: model(c, MODEL_ID).manifest.version for name, c in configs.items()}
    provider = model(next(iter(configs.values())), MODEL_ID).provider
    print(f"\nJob latency per study, median of {rounds} (ONNX Runtime provider {provider}):")
    header = "".join(f"{f'{n} {versions[n]}':>26s}" for n in configs)
    print(f"  {'stage':16s}{header}{'shipped/baseline':>18s}")
    for stage in (*STAGES, "total"):
        medians = [statistics.median(runs[n][stage]) for n in configs]
        ratio = medians[0] / medians[1] if len(medians) >= 2 and medians[1] else float("nan")
        cells = "".join(f"{m * 1000:23.0f} ms" for m in medians)
        print(f"  {stage:16s}{cells}{ratio:18.2f}")
    for name in configs:
        worst = max(runs[name]["total"])
        print(f"  {name} model, slowest job {worst:.1f} s of the {BUDGET_S:.0f} s budget")


def _onnx_vs_torch(config: InferenceConfig, preset: str, rounds: int) -> None:
    net = model(config, MODEL_ID)
    study = SyntheticStudy.generate(SEED, PRESETS[preset]())
    volumes, _, _ = load_inputs("bench", net.manifest, study, pixels, Timings())
    x, _ = to_model_space(
        volumes, net.manifest.grid, net.manifest.normalisation, net.manifest.reference_index
    )
    try:
        import torch  # noqa: PLC0415
        from neuronova_lab.training.net import UNet3D  # noqa: PLC0415
    except ImportError:
        print("\nPyTorch not installed (dependency group `train`): ONNX vs PyTorch skipped")
        return
    checkpoint = torch.load(config.models_dir / MODEL_ID / "weights.pt")
    torch_net = UNet3D(len(net.manifest.inputs), len(net.manifest.labels) + 1, checkpoint["base"])
    torch_net.load_state_dict(checkpoint["state_dict"])
    torch_net.eval()
    if config.onnx_threads:
        torch.set_num_threads(config.onnx_threads)
    onnx_times, torch_times = [], []
    net(x)  # warm-up both
    with torch.inference_mode():
        torch_net(torch.from_numpy(x))
        for _ in range(rounds):
            t = time.perf_counter()
            onnx_out = net(x)
            onnx_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            torch_out = torch_net(torch.from_numpy(x)).numpy()
            torch_times.append(time.perf_counter() - t)
    o, p = statistics.median(onnx_times), statistics.median(torch_times)
    print(
        f"\nOne forward pass on the same {tuple(x.shape)} input, median of {rounds}, alternating:"
    )
    print(f"  ONNX Runtime ({net.provider}) {o * 1000:8.0f} ms")
    print(f"  PyTorch {torch.__version__:14s} {p * 1000:8.0f} ms")
    print(f"  ratio PyTorch / ONNX Runtime  {p / o:8.2f}")
    print(f"  max |logit difference|        {float(np.abs(onnx_out - torch_out).max()):8.2e}")
    agree = float((onnx_out.argmax(1) == torch_out.argmax(1)).mean())
    print(f"  voxels with the same label    {agree * 100:8.3f} %")


def _send(config: InferenceConfig, preset: str) -> str:
    """Upload the study through Orthanc's REST API (the plugin re-encodes it to HTJ2K)."""
    import httpx  # noqa: PLC0415

    datasets = series_datasets(render(SEED, PRESETS[preset]()))
    with httpx.Client(auth=(config.orthanc_username, config.orthanc_password), timeout=60) as http:
        study_id = ""
        for ds in datasets:
            answer = http.post(f"{config.orthanc_url}/instances", content=to_bytes(ds))
            answer.raise_for_status()
            study_id = answer.json()["ParentStudy"]
        syntax = (
            http.get(f"{config.orthanc_url}/instances/{answer.json()['ID']}/header")
            .json()
            .get("0002,0010", {})
            .get("Value", "?")
        )
    print(f"{preset} study {study_id}: {len(datasets)} instances, stored as {syntax}")
    return study_id


def _run(args: argparse.Namespace, orthanc_url: str, tmp: Path) -> None:
    os.environ["ORTHANC_URL"] = orthanc_url
    shipped = from_env()
    configs = {"shipped": shipped}
    if args.baseline_rev:
        folder = _baseline_registry(args.baseline_rev, tmp / "baseline-models")
        configs["baseline"] = replace(shipped, models_dir=folder)
    if args.candidate:
        configs["candidate"] = replace(shipped, models_dir=args.candidate)
    study_id = _send(shipped, args.preset)
    _split(configs, study_id, args.rounds)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--preset", default="clinical24", choices=sorted(PRESETS))
    ap.add_argument("--baseline-rev", default=BASELINE_REV, help="'' for the shipped model only")
    ap.add_argument(
        "--candidate", type=Path, help="a models folder whose <model id> runs as a third column"
    )
    ap.add_argument(
        "--orthanc-url", help="use this Orthanc (with the plugin) instead of starting one"
    )
    args = ap.parse_args()
    # The shipped models, unless the caller names another folder (the worker needs it named).
    os.environ.setdefault("NEURONOVA_MODELS_DIR", str(REPO / "models"))
    with tempfile.TemporaryDirectory() as tmp:
        if args.orthanc_url:
            _run(args, args.orthanc_url, Path(tmp))
        else:
            from tests.support.orthanc import running_orthanc  # noqa: PLC0415

            redis = {"RedisUrl": "redis://127.0.0.1:1/0"}
            with running_orthanc(Path(tmp), neuronova=redis) as orthanc:
                # The helper's Orthanc has a per-session password, as the stack's (door 2).
                os.environ["ORTHANC_USERNAME"], os.environ["ORTHANC_PASSWORD"] = orthanc.auth
                _run(args, orthanc.url, Path(tmp))
    _onnx_vs_torch(from_env(), args.preset, max(args.rounds, 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
