"""Benchmark (wiring, CLI): where to encode HTJ2K on ingest, side by side on Orthanc 1.13.

Run: ``.venv/bin/python bench/ingest_codec.py [--slices 200] [--rounds 3] [--associations 1 4]``
(a few minutes; needs the runtime root and the codec plugin: ``scripts/bootstrap.sh runtime``).

Four durable Orthancs (orthanc.json: SyncStorageArea true) from the runtime root receive the
same 256x256 16-bit MR series by dcmtk storescu, rounds alternating between them:
  plain           no NeuroNova plugin: the baseline, stores uncompressed;
  codec           the native codec plugin encodes through Orthanc's IngestTranscoding (.202);
  python          the Python plugin re-encodes in its received-instance callback (the stack today);
  python+codec    the Python plugin only zeroes preambles (Transcode false), the codec encodes.
Prints C-STORE instances/s (median of rounds) and the ratio to plain, for one association and
for several concurrent ones, then the in-process cost of one encode + verify (C++ codec tool vs
the Python plugin's transcode). The load average is printed: other work on a shared 2-core
machine moves these figures far more than the code does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "orthanc-plugins"), str(REPO / "contracts")]

from neuronova_plugin.transcode import transcode  # noqa: E402

from stack import orthanc_root  # noqa: E402
from tests.support.orthanc import (  # noqa: E402
    SCU_AET,
    OrthancProcess,
    synthetic_mr_series,
    write_series,
)

HTJ2K_RPCL = "1.2.840.10008.1.2.4.202"
BUILD = REPO / "orthanc-plugins" / "htj2k-codec" / "build.sh"


def variants(root: Path) -> Iterator[tuple[str, OrthancProcess]]:
    codec_only = orthanc_root.plugin_list(
        python=False, dicomweb=True, codec=orthanc_root.CODEC_PLUGIN
    )
    ingest = {"IngestTranscoding": HTJ2K_RPCL}
    yield "plain", OrthancProcess(root / "plain", plugin=False)
    yield (
        "codec",
        OrthancProcess(root / "codec", plugin=False, overrides={"Plugins": codec_only, **ingest}),
    )
    yield "python", OrthancProcess(root / "python", neuronova={"Ai": False}, codec=False)
    yield (
        "python+codec",
        OrthancProcess(
            root / "python-codec", neuronova={"Ai": False, "Transcode": False}, overrides=ingest
        ),
    )


def c_store(orthanc: OrthancProcess, files: list[Path], associations: int) -> float:
    command = [
        "storescu",
        "-aec",
        orthanc.aet,
        "-aet",
        SCU_AET,
        "127.0.0.1",
        str(orthanc.dicom_port),
    ]
    started = time.perf_counter()
    procs = [
        subprocess.Popen([*command, *map(str, files[i::associations])], stderr=subprocess.PIPE)
        for i in range(associations)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"storescu failed:\n{stderr.decode()[-2000:]}")
    return time.perf_counter() - started


def stored_syntax(orthanc: OrthancProcess) -> str:
    session = orthanc.session()
    first = session.get(f"{orthanc.url}/instances", timeout=30).json()[0]
    return str(
        session.get(f"{orthanc.url}/instances/{first}/metadata/TransferSyntax", timeout=30).text
    )


def in_process_ms(folder: Path) -> tuple[str, float]:
    """One slice: the codec tool's own timing line, and the Python plugin's transcode()."""
    (path,) = write_series(synthetic_mr_series(1), folder)
    root = _output([str(orthanc_root.SCRIPT), "path"])
    tool = Path(_output([str(BUILD), root, str(BUILD.parent / "build"), "tool"]))
    command = orthanc_root.run_command([str(tool), "time", str(path), "300"], bind=[folder])
    codec = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    data = path.read_bytes()
    transcode(data)
    started = time.perf_counter()
    for _ in range(300):
        transcode(data)
    return codec, (time.perf_counter() - started) / 300 * 1e3


def _output(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--associations", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    if not orthanc_root.CODEC_PLUGIN.is_file():
        sys.exit(
            f"no codec plugin at {orthanc_root.CODEC_PLUGIN}: run scripts/bootstrap.sh runtime"
        )
    with tempfile.TemporaryDirectory(prefix="nn-bench-codec-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        orthancs = {}
        for name, orthanc in variants(root):
            orthancs[name] = orthanc.start()
            stack.callback(orthanc.stop)
        print(f"ingest on Orthanc 1.13: {args.slices}-slice 256x256 16-bit MR, durable storage")
        for associations in args.associations:
            times: dict[str, list[float]] = {name: [] for name in orthancs}
            for round_ in range(args.rounds):
                for name, orthanc in orthancs.items():
                    folder = root / f"{name}-{associations}-{round_}"
                    files = write_series(synthetic_mr_series(args.slices, seed=round_), folder)
                    times[name].append(c_store(orthanc, files, associations))
            report(associations, args.slices, times)
        print("stored as: " + ", ".join(f"{n} {stored_syntax(o)}" for n, o in orthancs.items()))
        codec, python_ms = in_process_ms(root / "one")
    print(f"in process, one 256x256 slice: codec {codec}")
    print(f"                               Python plugin transcode() {python_ms:.3f} ms")
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def report(associations: int, slices: int, times: dict[str, list[float]]) -> None:
    base = slices / statistics.median(times["plain"])
    print(f"C-STORE, {associations} association(s), median of {len(times['plain'])} rounds:")
    for name, runs in times.items():
        rate = slices / statistics.median(runs)
        seconds = " ".join(f"{t:.2f}" for t in runs)
        print(f"  {name:13s} {rate:7.1f} inst/s  ratio {rate / base:.3f}  runs(s) {seconds}")


if __name__ == "__main__":
    main()
