"""Benchmark (wiring, CLI): ingest cost and storage gain of the HTJ2K plugin, side by side.

Run: ``.venv/bin/python bench/ingest.py [--slices 200] [--rounds 2]`` (about 1-3 minutes).

Prints, from one run:
  (a) C-STORE throughput (dcmtk storescu, one association) into a durable Orthanc
      (SyncStorageArea true, as configured in orthanc.json) with the plugin vs the same Orthanc
      without it, on a 200-slice 256x256 16-bit MR series; ratio vs the 0.90 target;
  (b) stored bytes HTJ2K / uncompressed (target <= 0.35) and HTJ2K / JPEG 2000 lossless
      (OpenJPEG, reversible 5/3, same slices; target <= 1.05), both for the throughput series
      above and for the project's generated brain MR study (the phantom generator: four
      co-registered series, realistic noise including the Rician background, at a clinical
      256x256, 0.86 mm in-plane grid) run through the plugin's own ``transcode``;
  (c) encode ms per slice, HTJ2K (OpenJPH) vs JPEG 2000 (OpenJPEG), both via imagecodecs.
Rounds alternate baseline and plugin runs so drift on a shared machine hits both alike.
The plugin Orthanc runs with ``NeuroNova.Ai`` false (its AI block works after StableAge
and never touches a Redis here); the load average is printed, since a loaded 2-core machine inflates
the plugin's CPU time far more than the baseline's fsync-bound time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import imagecodecs
import numpy as np
from pydicom.uid import generate_uid

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [
    str(REPO),
    *(str(REPO / d) for d in ("orthanc-plugins", "inference", "lab", "contracts")),
]

from neuronova_lab.synthetic.dicom import series_datasets, to_bytes  # noqa: E402
from neuronova_lab.synthetic.phantom import axial_grid, render  # noqa: E402
from neuronova_plugin.transcode import transcode  # noqa: E402

from tests.support.orthanc import (  # noqa: E402
    OrthancProcess,
    running_orthanc,
    synthetic_mr_series,
    write_series,
)

ThroughputTarget, SizeTarget, J2kTarget = 0.90, 0.35, 1.05


def _series_files(slices: int, folder: Path, seed: int) -> tuple[list[Path], list[np.ndarray]]:
    series = synthetic_mr_series(slices, rows=256, columns=256, seed=seed)
    study = generate_uid()
    for ds in series:
        ds.StudyInstanceUID = study
    return write_series(series, folder), [ds.pixel_array for ds in series]


def _cstore_seconds(orthanc: OrthancProcess, files: list[Path]) -> float:
    started = time.perf_counter()
    result = orthanc.storescu(*files, timeout_s=600)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"storescu failed:\n{result.stderr[-2000:]}")
    return elapsed


def _stored_bytes(orthanc: OrthancProcess) -> int:
    session = orthanc.session()
    total = 0
    for orthanc_id in session.get(f"{orthanc.url}/instances", timeout=30).json():
        total += len(session.get(f"{orthanc.url}/instances/{orthanc_id}/file", timeout=30).content)
    return total


def _encode_ms(encode: object, slices: list[np.ndarray], repeats: int = 3) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        outputs = [encode(image) for image in slices]  # type: ignore[operator]
        best = min(best, (time.perf_counter() - started) / len(slices) * 1e3)
        size = sum(len(out) for out in outputs)
    return best, size


def _htj2k(image: np.ndarray) -> bytes:
    return bytes(imagecodecs.htj2k_encode(image, reversible=True, tlm=True))


def _j2k(image: np.ndarray) -> bytes:
    return bytes(imagecodecs.jpeg2k_encode(image, level=0, reversible=True, codecformat="J2K"))


def _generated_study(seed: int = 424242) -> tuple[int, int, int, int]:
    """Whole files uncompressed vs as the plugin stores them, and J2K vs HTJ2K codestreams."""
    grid = axial_grid((24, 256, 256), (5.0, 0.86, 0.86), np.zeros(3))
    plain = stored = 0
    slices = []
    for ds in series_datasets(render(seed, grid)):
        raw = to_bytes(ds)
        result = transcode(raw)
        if result.data is None:
            raise RuntimeError(f"the plugin kept a generated slice: {result.reason}")
        plain, stored = plain + len(raw), stored + len(result.data)
        slices.append(ds.pixel_array)
    htj2k = sum(len(_htj2k(image)) for image in slices)
    j2k = sum(len(_j2k(image)) for image in slices)
    return plain, stored, htj2k, j2k


def _plugin_ms(files: list[Path]) -> float:
    datas = [p.read_bytes() for p in files[:50]]
    started = time.perf_counter()
    for data in datas:
        transcode(data)
    return (time.perf_counter() - started) / len(datas) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nn-bench-") as tmp:
        root = Path(tmp)
        with (
            running_orthanc(root / "baseline", plugin=False) as baseline,
            # The ingest cost only: the AI block works after StableAge, not per C-STORE.
            running_orthanc(root / "plugin", neuronova={"Ai": False}) as plugin,
        ):
            times: dict[str, list[float]] = {"baseline": [], "plugin": []}
            pixels: list[np.ndarray] = []
            for round_ in range(args.rounds):
                for name, orthanc in (("baseline", baseline), ("plugin", plugin)):
                    files, pixels = _series_files(args.slices, root / f"{name}{round_}", round_)
                    times[name].append(_cstore_seconds(orthanc, files))
            baseline_bytes = _stored_bytes(baseline)
            plugin_bytes = _stored_bytes(plugin)
            plugin_ms = _plugin_ms(files)
        htj2k_ms, htj2k_size = _encode_ms(_htj2k, pixels)
        j2k_ms, j2k_size = _encode_ms(_j2k, pixels)
    generated = _generated_study()
    report(
        args.slices,
        times,
        baseline_bytes,
        plugin_bytes,
        (htj2k_ms, htj2k_size),
        (j2k_ms, j2k_size),
        plugin_ms,
        generated,
    )


def report(
    slices: int,
    times: dict[str, list[float]],
    baseline_bytes: int,
    plugin_bytes: int,
    htj2k: tuple[float, int],
    j2k: tuple[float, int],
    plugin_ms: float,
    generated: tuple[int, int, int, int],
) -> None:
    base_rate = slices / statistics.median(times["baseline"])
    plugin_rate = slices / statistics.median(times["plugin"])
    ratio = plugin_rate / base_rate
    size_ratio = plugin_bytes / baseline_bytes
    j2k_ratio = htj2k[1] / j2k[1]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    print(f"NeuroNova ingest benchmark: {slices}-slice 256x256 16-bit MR, durable Orthanc")
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("(a) C-STORE throughput, storescu one association, median of rounds")
    print(f"    without plugin: {base_rate:7.1f} inst/s  runs(s) {_runs(times['baseline'])}")
    print(f"    with plugin:    {plugin_rate:7.1f} inst/s  runs(s) {_runs(times['plugin'])}")
    print(
        f"    ratio {ratio:.3f} (target >= {ThroughputTarget}) {verdict(ratio >= ThroughputTarget)}"
    )
    print(f"    plugin re-encode + verify, in process: {plugin_ms:.2f} ms/slice")
    print("(b) stored bytes, the throughput series (smooth head, near-silent background)")
    print(
        f"    HTJ2K / uncompressed (whole files): {plugin_bytes} / {baseline_bytes} = "
        f"{size_ratio:.3f} (target <= {SizeTarget}) {verdict(size_ratio <= SizeTarget)}"
    )
    print(
        f"    HTJ2K / J2K lossless (codestreams): {htj2k[1]} / {j2k[1]} = "
        f"{j2k_ratio:.3f} (target <= {J2kTarget}) {verdict(j2k_ratio <= J2kTarget)}"
    )
    plain, stored, gen_htj2k, gen_j2k = generated
    print("    the generated brain MR study (4 series x 24 slices 256x256, realistic noise)")
    print(
        f"    HTJ2K / uncompressed (whole files): {stored} / {plain} = {stored / plain:.3f} "
        f"(target <= {SizeTarget}) {verdict(stored / plain <= SizeTarget)}"
    )
    gen_ratio = gen_htj2k / gen_j2k
    print(
        f"    HTJ2K / J2K lossless (codestreams): {gen_htj2k} / {gen_j2k} = "
        f"{gen_ratio:.3f} (target <= {J2kTarget}) {verdict(gen_ratio <= J2kTarget)}"
    )
    print("(c) encode ms per slice (best of 3, imagecodecs)")
    print(
        f"    HTJ2K (OpenJPH): {htj2k[0]:.2f} ms   J2K (OpenJPEG): {j2k[0]:.2f} ms   "
        f"speed-up x{j2k[0] / htj2k[0]:.1f}"
    )


def _runs(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
