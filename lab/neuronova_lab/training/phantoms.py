"""wiring: training phantoms, generated in worker processes or read from a cache another
process fills, held in per-profile lists that keep growing while training runs."""

from __future__ import annotations

import json
import threading
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from neuronova_contracts.manifest import Manifest, parse_manifest

from neuronova_lab.synthetic.ranges import PROFILES
from neuronova_lab.training.data import Example, make_example

Job = tuple[int, str]  # (seed, profile)


def load_manifest(model_dir: Path) -> Manifest:
    return parse_manifest(json.loads((model_dir / "manifest.json").read_text()))


def cache_path(cache: Path, seed: int, profile: str) -> Path:
    return cache / f"{profile}-{seed}.npz"


def _read(path: Path) -> Example:
    with np.load(path) as data:
        return Example(image=data["image"], labels=data["labels"])


def example(args: tuple[int, Path, Path | None, str]) -> Example:
    """Generate (or read back from ``cache``) the training example of ``seed``, as float16."""
    seed, model_dir, cache, profile = args
    path = cache_path(cache, seed, profile) if cache else None
    if path is not None and path.is_file():
        return _read(path)
    made = make_example(seed, load_manifest(model_dir), PROFILES[profile])
    made = Example(image=made.image.astype(np.float16), labels=made.labels)
    if path is not None:  # written whole or not at all: a killed run leaves no torn file
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, image=made.image, labels=made.labels)
        partial.replace(path)
    return made


def _tagged(args: tuple[int, Path, Path | None, str]) -> tuple[str, Example]:
    return args[3], example(args)


def stream(
    jobs: list[Job],
    *,
    model_dir: Path,
    cache: Path | None,
    workers: int,
    follow: bool,
    start_after: int,
    t0: float,
) -> dict[str, list[Example]]:
    """Phantoms by profile; returns once ``start_after`` of them exist. ``follow``: generate
    nothing, pick up each job's cache file once another process (the generator) has written it;
    otherwise ``workers`` processes generate (or read back) them."""
    data: dict[str, list[Example]] = {profile: [] for _, profile in jobs}

    def generate() -> None:
        with Pool(workers) as pool:
            tasks = [(s, model_dir, cache, p) for s, p in jobs]
            for profile, made in pool.imap_unordered(_tagged, tasks, chunksize=1):
                data[profile].append(made)  # list.append is atomic under the GIL
        print(f"all {len(jobs)} phantoms ready at {time.monotonic() - t0:.0f} s", flush=True)

    def watch() -> None:
        assert cache is not None
        missing = list(jobs)
        while missing:
            still = []
            for seed, profile in missing:
                path = cache_path(cache, seed, profile)
                if path.is_file():
                    data[profile].append(_read(path))
                else:
                    still.append((seed, profile))
            missing = still
            if missing:
                time.sleep(10)
        print(f"all {len(jobs)} phantoms read at {time.monotonic() - t0:.0f} s", flush=True)

    if follow and cache is None:
        raise SystemExit("--workers-follow needs --cache")
    worker = watch if follow else generate
    threading.Thread(target=worker, name="phantoms", daemon=True).start()
    while sum(map(len, data.values())) < min(start_after, len(jobs)):
        time.sleep(5)
    counts = {p: len(v) for p, v in data.items()}
    print(f"training starts with {counts} at {time.monotonic() - t0:.0f} s", flush=True)
    return data
