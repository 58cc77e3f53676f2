"""Benchmark (wiring, CLI): prove the CUDA execution provider path on a GPU machine.

Run: ``python bench/cuda_check.py [--rounds 10]`` with `onnxruntime-gpu` installed.

Prints "no CUDA provider" where ONNX Runtime has no CUDAExecutionProvider (CPU builds, machines
without an NVIDIA GPU) and exits 0 so `make bench` goes on to the other benchmarks; with
--strict it exits 1 instead (use that on the GPU host, where a fallback to CPU is a failure).
Otherwise it runs the shipped model on the demo study with the CUDA provider only, checks the
labels match the CPU provider's, and prints the time per study (inference alone and the whole
in-memory analysis: preprocess, inference, postprocess + SEG).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / d) for d in ("inference", "lab", "contracts")]

import numpy as np  # noqa: E402
import onnxruntime as ort  # type: ignore[import-untyped]  # noqa: E402
from numpy.typing import NDArray  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--model", default="nn-brain-tumour-synth")
    ap.add_argument("--strict", action="store_true", help="exit 1 when CUDA is unavailable")
    args = ap.parse_args()
    missing = 1 if args.strict else 0
    available = ort.get_available_providers()
    if "CUDAExecutionProvider" not in available:
        print(f"no CUDA provider: ONNX Runtime {ort.__version__} offers {available}")
        return missing

    from neuronova_contracts.registry import load  # noqa: PLC0415
    from neuronova_inference.config import from_env  # noqa: PLC0415
    from neuronova_inference.decode import pixels  # noqa: PLC0415
    from neuronova_inference.pipeline import Timings, analyse, load_inputs  # noqa: PLC0415
    from neuronova_inference.preprocess import to_model_space  # noqa: PLC0415
    from neuronova_lab.synthetic.study import SyntheticStudy  # noqa: PLC0415
    from neuronova_lab.training.data import demo_grid  # noqa: PLC0415

    models_dir = from_env().models_dir
    manifest = load(models_dir, args.model)
    path = str(models_dir / args.model / manifest.onnx_file)
    gpu = ort.InferenceSession(path, providers=["CUDAExecutionProvider"])
    cpu = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    if gpu.get_providers()[0] != "CUDAExecutionProvider":
        print(f"no CUDA provider: session fell back to {gpu.get_providers()}")
        return missing
    study = SyntheticStudy.generate(424242, demo_grid())
    volumes, reference, _ = load_inputs("cuda", manifest, study, pixels, Timings())
    x, _ = to_model_space(volumes, manifest.grid, manifest.normalisation)

    def run(session: ort.InferenceSession) -> NDArray[np.float32]:
        out: NDArray[np.float32] = session.run([manifest.output_name], {manifest.input_name: x})[0]
        return out

    run(gpu)  # warm-up: CUDA context, cuDNN algorithm search
    times = []
    for _ in range(args.rounds):
        t = time.perf_counter()
        out = run(gpu)
        times.append(time.perf_counter() - t)
    same = float((out.argmax(1) == run(cpu).argmax(1)).mean())
    whole = []
    for _ in range(max(3, args.rounds // 3)):
        timings = Timings()
        analyse(volumes, reference, manifest, run, timings)
        whole.append(sum(timings.stages.values()))
    device = ort.get_device()
    print(f"CUDA provider OK (ONNX Runtime {ort.__version__}, device {device})")
    infer_ms, whole_ms = statistics.median(times) * 1000, statistics.median(whole) * 1000
    print(f"  inference per study   median {infer_ms:.1f} ms over {args.rounds}")
    print(f"  analysis per study    median {whole_ms:.1f} ms (preprocess+inference+post+SEG)")
    print(f"  labels equal to CPU   {same * 100:.3f} % of voxels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
