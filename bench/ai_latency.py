"""Benchmark (wiring, CLI): latency split of one AI job and ONNX Runtime vs PyTorch, same input.

Run: ``.venv/bin/python bench/ai_latency.py [--rounds 3] [--orthanc-url URL]`` (1-2 minutes).

Without --orthanc-url it starts a private Orthanc with the plugin (tests/support/orthanc.py),
C-STOREs the demo study (96x96, 40 slices per series; the plugin stores it as HTJ2K) and runs the
worker's own code path in-process against it: fetch+decode, preprocess, inference,
postprocess+SEG, store (the plugin's /neuronova/seg route). Then it times the ONNX model and the
PyTorch original (inference/models/<id>/weights.pt, needs the `train` group) on the same
preprocessed input, alternating them, and prints the largest difference between their outputs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "inference"), str(REPO / "orthanc-plugins")]

from neuronova_inference.config import InferenceConfig, from_env  # noqa: E402
from neuronova_inference.decode import pixels  # noqa: E402
from neuronova_inference.pipeline import Timings, load_inputs  # noqa: E402
from neuronova_inference.preprocess import to_model_space  # noqa: E402
from neuronova_inference.service import model, segment  # noqa: E402
from neuronova_inference.synthetic.dicom import series_datasets  # noqa: E402
from neuronova_inference.synthetic.phantom import render  # noqa: E402
from neuronova_inference.synthetic.study import SyntheticStudy  # noqa: E402
from neuronova_inference.training.data import demo_grid  # noqa: E402

STAGES = ("fetch_decode", "preprocess", "inference", "postprocess_seg", "store")


def _split(config: InferenceConfig, orthanc_study_id: str, rounds: int) -> None:
    runs: dict[str, list[float]] = {s: [] for s in STAGES}
    totals = []
    for _ in range(rounds):
        outcome = segment(
            config,
            orthanc_study_id=orthanc_study_id,
            model_id=config.default_model,
            model_version=None,
            store=True,
            job={"job_id": "bench"},
        )
        for stage in STAGES:
            runs[stage].append(outcome.timings.get(stage, 0.0))
        totals.append(sum(outcome.timings.values()))
    provider = model(config, config.default_model).provider
    print(f"\nEnd-to-end job latency, median of {rounds} (ONNX Runtime provider {provider}):")
    for stage in STAGES:
        print(f"  {stage:16s} {statistics.median(runs[stage]) * 1000:8.0f} ms")
    print(f"  {'total':16s} {statistics.median(totals) * 1000:8.0f} ms")


def _onnx_vs_torch(config: InferenceConfig, rounds: int) -> None:
    net = model(config, config.default_model)
    study = SyntheticStudy.generate(424242, demo_grid())
    volumes, _, _ = load_inputs("bench", net.manifest, study, pixels, Timings())
    x, _ = to_model_space(volumes, net.manifest.grid, net.manifest.normalisation)
    try:
        import torch  # noqa: PLC0415
        from neuronova_inference.training.net import UNet3D  # noqa: PLC0415
    except ImportError:
        print("\nPyTorch not installed (dependency group `train`): ONNX vs PyTorch skipped")
        return
    checkpoint = torch.load(config.models_dir / config.default_model / "weights.pt")
    torch_net = UNet3D(len(net.manifest.inputs), len(net.manifest.labels) + 1, checkpoint["base"])
    torch_net.load_state_dict(checkpoint["state_dict"])
    torch_net.eval()
    torch.set_num_threads(
        max(1, config.onnx_threads) if config.onnx_threads else torch.get_num_threads()
    )
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
    print(f"\nInference on the same {tuple(x.shape)} input, median of {rounds}, alternating:")
    print(f"  ONNX Runtime ({net.provider}) {o * 1000:8.0f} ms")
    print(f"  PyTorch {torch.__version__:14s} {p * 1000:8.0f} ms")
    print(f"  ratio PyTorch / ONNX Runtime  {p / o:8.2f}")
    print(f"  max |logit difference|        {float(np.abs(onnx_out - torch_out).max()):8.2e}")
    agree = float((onnx_out.argmax(1) == torch_out.argmax(1)).mean())
    print(f"  voxels with the same label    {agree * 100:8.3f} %")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--orthanc-url", help="use this Orthanc (with the plugin) instead of starting one"
    )
    args = ap.parse_args()
    if args.orthanc_url:
        import os  # noqa: PLC0415

        os.environ["ORTHANC_URL"] = args.orthanc_url
        config = from_env()
        study_id = _send_demo_rest(config)
        _split(config, study_id, args.rounds)
    else:
        from tests.support.orthanc import running_orthanc  # noqa: PLC0415

        with (
            tempfile.TemporaryDirectory() as tmp,
            running_orthanc(Path(tmp), neuronova={"RedisUrl": "redis://127.0.0.1:1/0"}) as orthanc,
        ):
            import os  # noqa: PLC0415

            os.environ["ORTHANC_URL"] = orthanc.url
            config = from_env()
            study_id = _send_demo_rest(config)
            _split(config, study_id, args.rounds)
    _onnx_vs_torch(from_env(), max(args.rounds, 5))
    return 0


def _send_demo_rest(config: InferenceConfig) -> str:
    """Upload the demo study through Orthanc's REST API (the plugin re-encodes it to HTJ2K)."""
    import httpx  # noqa: PLC0415
    from neuronova_inference.synthetic.dicom import to_bytes  # noqa: PLC0415

    datasets = series_datasets(render(424242, demo_grid()))
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
    print(f"demo study {study_id}: {len(datasets)} instances, stored transfer syntax {syntax}")
    return study_id


if __name__ == "__main__":
    sys.exit(main())
