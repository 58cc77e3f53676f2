"""Benchmark (wiring, CLI): what a radiologist's browser pays to open a study in the viewer, with
the frames stored as HTJ2K (read progressively or whole) and the same pixels stored uncompressed,
side by side in one run.

Run (as root for the kernel link): ``.venv/bin/python bench/viewer.py [--rounds 2] [--mbps 0,20]
[--link kernel|devtools] [--json out.json]`` (starts its own native stack; ~30 min on the 2
shared cores), or ``--url URL --pair HTJ2K_UID:RAW_UID`` (repeatable) against a running stack
holding both copies. ``--breakdown``: offline, where the bytes ratio comes from
(bench/viewer_breakdown.py).

Studies (the project's phantom generator, neuronova_lab.synthetic):
  demo   `make demo`'s study (seed 424242, 4 series of 96x96x40); the viewer shows its first.
  mr512  one axial series of 160 slices at 512x512, 16 bits (preset ``mr512``, seed 515; only
         its T1 series is stored, so the AI job skips it and does not compete for the CPU).
The uncompressed copy: the portal answers frames in their *stored* syntax, so "the same pixels
uncompressed" through the authorised route means the same files stored as Explicit VR Little
Endian. After the HTJ2K studies are in, the bench restarts its own Orthanc with
``NeuroNova.Transcode`` false and C-STOREs the generator's files again with fresh Study/Series/
SOP UIDs (pixel data byte-identical). Same viewer, same nginx → Django → X-Accel → Orthanc path.

Variants: HTJ2K ``progressive`` (the shipped configuration: the displayed image by a first byte
range, then the rest), HTJ2K ``whole`` (OHIF's default: one request a frame), and uncompressed
(OHIF's default; the portal answers such frames whole anyway). Links: loopback, and the set
speeds either shaped by the kernel (``--link kernel``, the default: tc HTB on the loopback device,
only the bench nginx's port, both directions, rate but no added latency; bench/link.py) or
emulated by Chromium (``--link devtools``: DevTools' network conditions, inside the browser's
network stack, for comparison). Each round opens the study cold (fresh browser) then warm (the
viewer's code cached; frames are ``private, no-store`` so all are fetched again), variants in
rotating order. Medians are printed with the targets:
  first image at 20 Mbit/s, HTJ2K progressive / uncompressed <= 0.5 (OHIF's studyToFirstImage)
  beside it, not a target: the same ratio for the first FULL-FIELD image (a page probe: the
  displayed image once its decoded pixels cover every row and column; OHIF's timer ends on the
  viewport's first render, before any image, and the page's first image of an uncompressed
  frame may be a partial one, its first streamed chunk) and the full-resolution image
  whole series <= (stored-bytes ratio + 0.10) x uncompressed (study start -> stack decoded)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from bench.link import LinkError, check_kernel_link, kernel_link  # noqa: E402
from bench.viewer_open import Open, Round, one_round  # noqa: E402
from tests.support.deployables import python_path  # noqa: E402
from tests.support.stack import RunningStack, native_stack  # noqa: E402
from tests.support.web import generate_study  # noqa: E402

DEMO_SEED, MR512_SEED = 424242, 515
BASELINE_TAG = "uncompressed-baseline"
FIRST_IMAGE_TARGET, SERIES_MARGIN = 0.5, 0.10
VARIANTS = (("progressive", "htj2k"), ("whole", "htj2k"), ("uncompressed", "raw"))
LINKS = ("kernel", "devtools")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Pair:
    name: str
    htj2k: str  # StudyInstanceUID stored as HTJ2K
    raw: str  # the same pixels stored uncompressed
    raw_pixel_bytes: int  # of the displayed series (16 bits allocated), 0 if unknown


def generate(folder: Path, preset: str, seed: int) -> list[Path]:
    """The generator's files for a preset (``demo`` through tests.support.web)."""
    if preset == "demo":
        return generate_study(folder, seed=seed, small=False)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "neuronova_lab.synthetic.demo",
            *("--preset", preset, "--seed", str(seed), "--write", str(folder)),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": python_path("lab")},
        check=True,
        capture_output=True,
        timeout=900,
    )
    first_series = [
        p
        for p in folder.glob("*.dcm")
        if pydicom.dcmread(p, stop_before_pixels=True).SeriesNumber == 1
    ]
    return sorted(first_series)


def pixel_bytes(files: list[Path]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for path in files:
        ds = pydicom.dcmread(path)
        sizes[ds.SeriesInstanceUID] = sizes.get(ds.SeriesInstanceUID, 0) + len(ds.PixelData)
    return sizes


def baseline_copy(files: list[Path], folder: Path) -> tuple[str, dict[str, str]]:
    """The files with fresh Study/Series/SOP UIDs (pixels untouched): the copy's study UID and
    {copy series UID: original series UID}."""
    folder.mkdir(parents=True, exist_ok=True)
    series_map: dict[str, str] = {}
    study_uid = ""
    for path in files:
        ds = pydicom.dcmread(path)
        original_series = str(ds.SeriesInstanceUID)
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            setattr(ds, keyword, generate_uid(entropy_srcs=[str(ds.get(keyword)), BASELINE_TAG]))
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyDescription = f"{ds.get('StudyDescription', '')} {BASELINE_TAG}".strip()
        series_map[str(ds.SeriesInstanceUID)] = original_series
        study_uid = str(ds.StudyInstanceUID)
        ds.save_as(folder / path.name, enforce_file_format=True)
    return study_uid, series_map


def storescu(stack: RunningStack, files: list[Path]) -> None:
    subprocess.run(
        ["storescu", "-aec", stack.aet, "-aet", "NNBENCH", "127.0.0.1", str(stack.dicom_port)]
        + [str(path) for path in sorted(files)],
        check=True,
        capture_output=True,
        timeout=1800,
    )


def restart_orthanc_uncompressed(stack: RunningStack) -> None:
    """NeuroNova.Transcode false from now on (the bench's own throw-away stack only)."""
    config_path = stack.config.var_dir / "orthanc" / "orthanc.json"
    config = json.loads(config_path.read_text())
    config.setdefault("NeuroNova", {})["Transcode"] = False
    config_path.write_text(json.dumps(config, indent=2))
    stack.supervisor.stop_program("orthanc")
    stack.supervisor.start_program("orthanc")
    deadline = time.monotonic() + 180
    # Orthanc asks for credentials once it is up (401); the portal's health then follows.
    while _status(stack.orthanc_url + "/system") != 401 or stack.health()[0] != 200:
        if time.monotonic() > deadline:
            raise SystemExit("Orthanc did not come back after the restart")
        time.sleep(2)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def api_get(url: str, path: str) -> dict[str, object]:
    body = json.dumps({"username": "radiologist", "password": "radiologist-dev-pass"}).encode()
    request = urllib.request.Request(
        url + "/api/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        token = json.loads(response.read())["access"]
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


def wait_settled(url: str, study_uids: list[str], timeout_s: float = 1200) -> str:
    """Until every study is mirrored and its AI job has ended, so inference does not compete
    with the viewer for the CPU while it is timed."""
    deadline = time.monotonic() + timeout_s
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        for uid in study_uids:
            try:
                study = api_get(url, f"/api/studies/{uid}").get("study", {})
            except OSError:
                states[uid] = "not mirrored"
                continue
            states[uid] = str(study.get("ai_status", "none") if isinstance(study, dict) else "?")
        if all(s in ("done", "failed", "skipped", "none") for s in states.values()):
            return ", ".join(sorted(set(states.values())))
        time.sleep(5)
    return f"NOT settled after {timeout_s:.0f} s ({states}): timings share the CPU with it"


@contextlib.contextmanager
def own_stack(tmp: Path) -> Iterator[tuple[str, list[Pair]]]:
    demo = generate(tmp / "demo", "demo", DEMO_SEED)
    mr512 = generate(tmp / "mr512", "mr512", MR512_SEED)
    pairs = []
    with native_stack() as stack:
        stack.send_demo_study(seed=DEMO_SEED, small=False)
        registered = stack.cli("modality", "add", "NNBENCH", "--host", "127.0.0.1")
        if registered.returncode != 0:
            raise RuntimeError(registered.stdout + registered.stderr)
        # Only the displayed series, as in the uncompressed copy: the generator writes four
        # sequences, and storing the folder gave the HTJ2K study 4 series + an AI SEG against
        # the copy's 1 (4 more metadata requests and thumbnails on HTJ2K's side of every open).
        storescu(stack, mr512)
        for name, files in (("demo", demo), ("mr512", mr512)):
            copy_uid, _ = baseline_copy(files, tmp / f"{name}-raw")
            study_uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
            first_series = str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
            raw = pixel_bytes([f for f in files if _series_of(f) == first_series])
            pairs.append(Pair(name, study_uid, copy_uid, sum(raw.values())))
        restart_orthanc_uncompressed(stack)
        for name in ("demo", "mr512"):
            storescu(stack, sorted((tmp / f"{name}-raw").glob("*.dcm")))
        yield stack.url, pairs


def _series_of(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SeriesInstanceUID)


Results = dict[tuple[str, float, str], list[Round]]


OHIF_START_SUFFIX = " (OHIF start)"


def with_ohif_start(pairs: list[Pair]) -> list[Pair]:
    """Each pair, then the same pair measured with OHIF's own start (viewer_open.OHIF_START)."""
    return [q for p in pairs for q in (p, replace(p, name=p.name + OHIF_START_SUFFIX))]


def nginx_port(url: str) -> int:
    """The port the browser talks to, for the kernel link (which shapes the loopback device
    only: a stack elsewhere cannot be shaped from here)."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in LOOPBACK_HOSTS:
        raise LinkError(
            f"--link kernel shapes this machine's loopback device; {url} is not on it "
            "(use --link devtools)"
        )
    return parts.port or (443 if parts.scheme == "https" else 80)


def link_up(url: str, mbps: float, link: str) -> contextlib.AbstractContextManager[None]:
    """The slow link for a block of rounds: tc on nginx's port, or nothing (loopback, or
    DevTools, which each round's browser sets up itself)."""
    if mbps and link == "kernel":
        return kernel_link(nginx_port(url), mbps)
    return contextlib.nullcontext()


def link_label(mbps: float, link: str) -> str:
    return f"{mbps:g} Mbit/s ({link})" if mbps else "loopback"


def measure(
    url: str,
    pairs: list[Pair],
    speeds: list[float],
    rounds: int,
    link: str = "kernel",
    progress: Callable[[Results], None] | None = None,
) -> Results:
    """Every pair x link x round x variant; a pair named ``... (OHIF start)`` is opened with
    OHIF's own request order and decoder start, in the same rotation as the shipped one."""
    results: Results = {}
    by_study: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_study.setdefault(pair.name.removesuffix(OHIF_START_SUFFIX), []).append(pair)
    for group in by_study.values():
        for mbps in speeds:
            with link_up(url, mbps, link):
                for index in range(rounds):
                    turn = index % len(VARIANTS)
                    for variant, stored in VARIANTS[turn:] + VARIANTS[:turn]:
                        for pair in group if index % 2 == 0 else group[::-1]:
                            round_ = _one(url, pair, mbps, link, variant, stored, index)
                            if round_ is not None:
                                results.setdefault((pair.name, mbps, variant), []).append(round_)
                            if progress is not None:
                                progress(results)
    return results


def _one(
    url: str, pair: Pair, mbps: float, link: str, variant: str, stored: str, index: int
) -> Round | None:
    study = pair.htj2k if stored == "htj2k" else pair.raw
    frames = "progressive" if variant == "progressive" else "whole"
    print(f"... {pair.name} {link_label(mbps, link)} {variant} round {index + 1}", flush=True)
    emulate = mbps if link == "devtools" else 0.0
    try:
        return one_round(url, study, emulate, frames, pair.name.endswith(OHIF_START_SUFFIX))
    except Exception as exc:  # noqa: BLE001 - one failed open must not end the run
        print(f"    FAILED: {exc!r}"[:2000], flush=True)
        return None


def median(opens: list[Open], value: str) -> float:
    if value in ("first_s", "series_s", "study_to_series_s"):
        return statistics.median(float(getattr(o, value)) for o in opens)
    return float(statistics.median(o.value(value) for o in opens))


# Where the first image goes (bench/viewer_open.py NetworkLog.timeline), in print order.
TIMELINE = (
    ("study", "studyToFirstImage:start"),
    ("qido", "qido:start"),
    ("qido done", "qido:end"),
    ("metadata", "metadata:start"),
    ("metadata done", "metadata:end"),
    ("frame 1 sent", "firstFrame:start"),
    ("answered", "firstFrame:response"),
    ("received", "firstFrame:end"),
    ("wasm", "wasm:start"),
    ("wasm done", "wasm:end"),
    ("first image", "firstImage"),
)


# Image quality statuses (cornerstone3D's Enums.ImageQualityStatus) as the probe reports them.
QUALITY = {1: "FAR_REPLICATE", 3: "ADJACENT_REPLICATE", 6: "SUBRESOLUTION", 7: "LOSSY", 8: "FULL"}


def displayed_image(opens: list[Open]) -> str:
    """Medians of the page probe's marks (seconds from study start, as studyToFirstImage) and the
    first open's displayed-image states: what "first image" meant in that variant."""
    marks = ", ".join(
        f"{label} {median(opens, key):.2f}"
        for label, key in (
            ("studyToFirstImage", "studyToFirstImage"),
            ("probe first image", "probeFirstImage"),
            ("first full-field", "fullFieldImage"),
            ("full resolution", "fullResolutionImage"),
        )
    )
    states = " -> ".join(
        f"{QUALITY.get(int(s['status']), s['status']) if s['status'] is not None else 'none'} "
        f"{s['pixels']:,.0f}/{(s['rows'] or 0) * (s['columns'] or 0):,.0f}px"
        for s in (opens[0].image_states if opens else [])[:5]
        if s["pixels"]
    )
    return f"displayed image (s from study start): {marks}; states {states or 'not seen'}"


def timeline(opens: list[Open]) -> str:
    """Medians of the open's timeline, seconds from the viewer page's request."""
    parts = []
    for label, key in TIMELINE:
        values = [o.timeline[key] for o in opens if key in o.timeline]
        if values:
            parts.append(f"{label} {statistics.median(values):.2f}")
    sent = [o.timeline["framesBeforeFirstImage"] for o in opens if o.timeline]
    if sent:
        parts.append(f"({statistics.median(sent):.0f} frame requests before it)")
    retries = sum(o.timeline.get("prefetchRetries", 0) for o in opens)
    if retries:
        parts.append(f"failed-frame retry rounds {retries:.0f}")
    failed = [f for o in opens for f in o.failed_frames if "ERR_ABORTED" not in f]
    if failed:  # aborted = cancelled by the page itself (a streamed read it had enough of)
        parts.append(f"failed frame fetches {len(failed)} ({failed[0][:160]}...)")
    return ", ".join(parts)


def report(
    results: dict[tuple[str, float, str], list[Round]], pairs: list[Pair], link: str
) -> None:
    for pair in pairs:
        speeds = sorted({mbps for name, mbps, _ in results if name == pair.name})
        print(f"\n=== {pair.name}: HTJ2K {pair.htj2k} / uncompressed {pair.raw}")
        if any((pair.name, m, v) not in results for m in speeds for v, _ in VARIANTS):
            print(f"\n=== {pair.name}: some variants have no successful round; see above")
            continue
        raw_rounds = results[(pair.name, speeds[0], "uncompressed")]
        raw_bytes = statistics.median(r.warm.frame_bytes for r in raw_rounds)
        whole = results[(pair.name, speeds[0], "whole")]
        htj2k_bytes = statistics.median(r.warm.frame_bytes for r in whole)
        stored_ratio = htj2k_bytes / raw_bytes if raw_bytes else float("nan")
        any_round = results[(pair.name, speeds[0], "progressive")][-1].warm
        print(
            f"displayed series: {any_round.frames} frames; browser-received frame bytes: HTJ2K "
            f"whole {htj2k_bytes:,.0f}, uncompressed {raw_bytes:,.0f} (generator's pixels "
            f"{pair.raw_pixel_bytes:,}); stored-bytes ratio {stored_ratio:.3f}"
        )
        for mbps in speeds:
            for cache in ("cold", "warm"):
                print(f"  {link_label(mbps, link)}, {cache}:")
                line = {}
                for variant, _ in VARIANTS:
                    opens = [getattr(r, cache) for r in results[(pair.name, mbps, variant)]]
                    line[variant] = opens
                    print(
                        f"    {variant:12s} first image {median(opens, 'first_s'):6.2f} s "
                        f"(studyToFirstImage {median(opens, 'studyToFirstImage'):5.2f} s, "
                        f"scriptToView {median(opens, 'scriptToView'):5.2f} s); whole series "
                        f"{median(opens, 'series_s'):6.2f} s (from study start "
                        f"{median(opens, 'study_to_series_s'):6.2f} s); frame bytes "
                        f"{statistics.median(o.frame_bytes for o in opens):>12,.0f}, 206s "
                        f"{statistics.median(o.ranged for o in opens):.0f}, all bytes "
                        f"{statistics.median(o.encoded_bytes for o in opens):>12,.0f}"
                    )
                for variant, _ in VARIANTS:
                    print(f"    {variant:12s} timeline {timeline(line[variant])}")
                for variant, _ in VARIANTS:
                    print(f"    {variant:12s} {displayed_image(line[variant])}")
                base = line["uncompressed"]
                first_ratio = median(line["progressive"], "studyToFirstImage") / median(
                    base, "studyToFirstImage"
                )
                wall_ratio = median(line["progressive"], "first_s") / median(base, "first_s")
                limit = stored_ratio + SERIES_MARGIN
                series = {
                    v: median(line[v], "study_to_series_s") / median(base, "study_to_series_s")
                    for v in ("progressive", "whole")
                }
                verdict = "met" if first_ratio <= FIRST_IMAGE_TARGET else "NOT met"
                target = (
                    f" (target <= {FIRST_IMAGE_TARGET} at 20 Mbit/s: {verdict})"
                    if mbps == 20
                    else ""
                )
                print(
                    f"    first image, progressive / uncompressed: studyToFirstImage "
                    f"{first_ratio:.2f}{target}; wall clock {wall_ratio:.2f}"
                )
                fair = {
                    key: median(line["progressive"], key) / median(base, key)
                    for key in ("probeFirstImage", "fullFieldImage", "fullResolutionImage")
                }
                print(
                    f"    first FULL-FIELD image (probe; not the issue's measure), progressive / "
                    f"uncompressed: {fair['fullFieldImage']:.2f}; full-resolution image "
                    f"{fair['fullResolutionImage']:.2f}; the probe's first image (any, as "
                    f"studyToFirstImage) {fair['probeFirstImage']:.2f}"
                )
                for variant, ratio in series.items():
                    ok = "met" if ratio <= limit else "NOT met"
                    print(
                        f"    whole series, {variant} / uncompressed: {ratio:.2f} "
                        f"(target <= {limit:.2f}: {ok})"
                    )


def write_json(
    path: Path, pairs: list[Pair], load: list[float], link: str, results: Results
) -> None:
    data = {
        "load": load,
        "link": link,
        "pairs": [asdict(p) for p in pairs],
        "results": {
            f"{name}|{mbps:g}|{variant}": [asdict(r) for r in rounds]
            for (name, mbps, variant), rounds in results.items()
        },
    }
    path.write_text(json.dumps(data, indent=1))


def serve(url: str, pairs: list[Pair]) -> None:
    """Keeps the stack up until SIGTERM / Ctrl-C; prints how to measure it."""
    pair_args = " ".join(f"--pair {p.name}={p.htj2k}:{p.raw}" for p in pairs)
    print(f"stack up: bench/viewer.py --url {url} {pair_args}", flush=True)
    print(f"({', '.join(p.name for p in pairs)}); interrupt to stop it", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds the context managers: the bench's stack goes down


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupted)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--url", help="a running stack (default: start one)")
    ap.add_argument(
        "--pair", action="append", default=[], help="with --url: [NAME=]HTJ2K_UID:RAW_UID"
    )
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--mbps", default="0,20", help="link speeds, 0 = loopback (default 0,20)")
    ap.add_argument(
        "--link",
        choices=LINKS,
        default="kernel",
        help="how a speed above 0 is made: 'kernel' (default) shapes nginx's port with tc on the "
        "loopback device (needs root; rate, no added latency), 'devtools' emulates it in "
        "Chromium's network stack (DevTools), for comparison",
    )
    ap.add_argument("--json", type=Path, help="write every measurement here")
    ap.add_argument(
        "--ohif-start",
        action="store_true",
        help="also open every study with OHIF's own request order and decoder start (the viewer "
        "before docs/web.md's first-image changes), side by side in the same rotation",
    )
    ap.add_argument("--breakdown", action="store_true", help="offline: explain the bytes ratio")
    ap.add_argument(
        "--serve",
        action="store_true",
        help="start the bench's stack and studies, print the --url/--pair to measure it with, "
        "and keep it up until interrupted (for repeated runs while changing the viewer)",
    )
    args = ap.parse_args()
    if args.breakdown:
        from bench.viewer_breakdown import breakdown  # noqa: PLC0415

        breakdown(small=False)
        return
    speeds = [float(value) for value in args.mbps.split(",")]
    if args.link == "kernel" and any(speeds) and not args.serve:
        try:  # before the ~10 min the bench's own stack takes to start
            check_kernel_link()
            if args.url:
                nginx_port(args.url)
        except LinkError as error:
            raise SystemExit(f"bench/viewer.py: {error}") from None
    with tempfile.TemporaryDirectory() as tmp:
        if args.url:
            pairs = [
                Pair(
                    p.partition("=")[0] if "=" in p else f"pair{i}",
                    p.partition("=")[2 if "=" in p else 0].split(":")[0],
                    p.split(":")[-1],
                    0,
                )
                for i, p in enumerate(args.pair)
            ]
            context: contextlib.AbstractContextManager[tuple[str, list[Pair]]] = (
                contextlib.nullcontext((args.url.rstrip("/"), pairs))
            )
        else:
            context = own_stack(Path(tmp))
        with context as (url, studies):
            if args.serve:
                serve(url, studies)
                return
            ai = wait_settled(url, [uid for p in studies for uid in (p.htj2k, p.raw)])
            pairs = with_ohif_start(studies) if args.ohif_start else studies
            load = os.getloadavg()
            json_path = args.json

            def progress(partial: Results) -> None:
                if json_path is not None:
                    write_json(json_path, pairs, [load[0], os.getloadavg()[0]], args.link, partial)

            results = measure(url, pairs, speeds, args.rounds, args.link, progress)
            load_after = os.getloadavg()
    print(f"\nAI jobs before timing: {ai}; load average {load[0]:.2f} before, {load_after[0]:.2f}")
    report(results, pairs, args.link)
    if args.json:
        write_json(args.json, pairs, [load[0], load_after[0]], args.link, results)


if __name__ == "__main__":
    main()
