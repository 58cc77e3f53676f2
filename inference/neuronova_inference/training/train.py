"""wiring: train the shipped model on generated phantoms (CPU PyTorch) and export it to ONNX.

    python -m neuronova_inference.training.train --model-dir models/nn-brain-tumour-synth

Reproduces model.onnx and rewrites the sha256 in manifest.json. Seeds 0..N-1 of the "training"
ranges train; the evaluation sets use seeds from 100000 (evaluate.py), never seen in training.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from neuronova_contracts.manifest import Manifest, parse_manifest
from numpy.typing import NDArray
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from neuronova_inference.synthetic.ranges import PROFILES
from neuronova_inference.training.data import Example, make_example
from neuronova_inference.training.net import UNet3D


def load_manifest(model_dir: Path) -> Manifest:
    return parse_manifest(json.loads((model_dir / "manifest.json").read_text()))


def _example(args: tuple[int, Path, Path | None, str]) -> Example:
    """Generate (or read back from ``cache``) the training example of ``seed``, as float16."""
    seed, model_dir, cache, profile = args
    path = cache / f"{profile}-{seed}.npz" if cache else None
    if path is not None and path.is_file():
        with np.load(path) as data:
            return Example(image=data["image"], labels=data["labels"])
    example = make_example(seed, load_manifest(model_dir), PROFILES[profile])
    example = Example(image=example.image.astype(np.float16), labels=example.labels)
    if path is not None:  # written whole or not at all: a killed run leaves no torn file
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, image=example.image, labels=example.labels)
        partial.replace(path)
    return example


def _crop(
    rng: np.random.Generator, ex: Example, patch: int
) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    shape = np.array(ex.labels.shape)
    if rng.random() < 0.6 and (ex.labels > 0).any():
        # Centre most patches on tumour so the rare classes are seen often.
        where = np.argwhere(ex.labels > 0)
        centre = where[rng.integers(len(where))]
        start = np.clip(centre - patch // 2 + rng.integers(-8, 9, 3), 0, shape - patch)
    else:
        start = np.array([rng.integers(0, s - patch + 1) for s in shape])
    sl = tuple(slice(int(a), int(a) + patch) for a in start)
    x, y = ex.image[(slice(None), *sl)].astype(np.float32), ex.labels[sl]
    if rng.random() < 0.5:  # left-right flip (last axis is x in the zyx model grid)
        x, y = x[..., ::-1], y[..., ::-1]
    # Cheap intensity jitter on top of the generator's randomisation: per-channel scale, shift
    # and a little noise, so the network does not key on exact normalised levels.
    channels = x.shape[0]
    scale = rng.uniform(0.85, 1.15, (channels, 1, 1, 1)).astype(np.float32)
    shift = rng.uniform(-0.15, 0.15, (channels, 1, 1, 1)).astype(np.float32)
    noise = rng.normal(0, rng.uniform(0, 0.1), x.shape).astype(np.float32)
    x = x * scale + shift + noise
    return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(y)


def _loss(logits: torch.Tensor, target: torch.Tensor, classes: int) -> torch.Tensor:
    ce = F.cross_entropy(logits, target)
    prob = logits.softmax(1)
    onehot = F.one_hot(target, classes).permute(0, 4, 1, 2, 3).float()
    dims = (0, 2, 3, 4)
    inter = (prob * onehot).sum(dims)
    denom = prob.sum(dims) + onehot.sum(dims)
    dice = (2 * inter + 1) / (denom + 1)
    return ce + (1 - dice[1:]).mean()


def export_onnx(net: UNet3D, manifest: Manifest, path: Path) -> str:
    net.eval()
    dummy = torch.zeros((1, len(manifest.inputs), *manifest.grid.shape))
    torch.onnx.export(
        net,
        (dummy,),
        str(path),
        input_names=[manifest.input_name],
        output_names=[manifest.output_name],
        opset_version=17,
        dynamo=False,
    )
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--profile", default="training", choices=sorted(PROFILES))
    ap.add_argument("--train-cases", type=int, default=240)
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--patch", type=int, default=48)
    ap.add_argument("--workers", type=int, default=2, help="processes generating phantoms")
    ap.add_argument("--base", type=int, default=8, help="channels of the first U-Net level")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-3)
    # One thread: on a shared 2-core machine OpenMP spinning made two threads several times slower.
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", type=Path, help="keep generated examples here between runs")
    ap.add_argument("--resume", action="store_true", help="start from the model dir's weights.pt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ema", type=float, default=0.995, help="decay of the weights' average")
    ap.add_argument(
        "--start-after",
        type=int,
        default=60,
        help="start training once this many phantoms exist; the rest join while it runs",
    )
    ap.add_argument(
        "--export-only", action="store_true", help="export the model dir's weights.pt and stop"
    )
    return ap.parse_args()


def _fit(
    net: UNet3D, data: list[Example], args: argparse.Namespace, classes: int, t0: float
) -> AveragedModel:
    """Train ``net``; returns the exponential moving average of its weights (what ships: it is
    smoother than the last step's weights and usable even when a run is stopped early)."""
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.iterations)
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(args.ema))  # type: ignore[no-untyped-call]
    rng = np.random.default_rng(args.seed)
    net.train()
    for it in range(args.iterations):
        batch = [_crop(rng, data[rng.integers(len(data))], args.patch) for _ in range(args.batch)]
        x = torch.from_numpy(np.stack([b[0] for b in batch]))
        y = torch.from_numpy(np.stack([b[1] for b in batch]).astype(np.int64))
        loss = _loss(net(x), y, classes)
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        sched.step()
        ema.update_parameters(net)
        if it % 10 == 0 or it == args.iterations - 1:
            print(
                f"it {it} loss {loss.item():.4f} phantoms {len(data)} "
                f"t {time.monotonic() - t0:.0f} s",
                flush=True,
            )
        if it % 100 == 99:  # a crash or a kill loses at most 100 iterations (--resume)
            _save(net, ema, args)
    return ema


def _save(net: UNet3D, ema: AveragedModel, args: argparse.Namespace) -> None:
    """weights.pt: the averaged weights (``state_dict``, what is exported) and the raw ones."""
    checkpoint = {
        "base": int(net.head.in_channels),
        "state_dict": ema.module.state_dict(),
        "raw_state_dict": net.state_dict(),
    }
    torch.save(checkpoint, args.model_dir / "weights.pt")


def _stream(args: argparse.Namespace, t0: float) -> list[Example]:
    """Phantoms in a list that keeps growing while training runs (generation is the slow part
    on a shared machine); returns once ``--start-after`` of them exist."""
    data: list[Example] = []
    jobs = [(s, args.model_dir, args.cache, args.profile) for s in range(args.train_cases)]

    def feed() -> None:
        with Pool(args.workers) as pool:
            for example in pool.imap_unordered(_example, jobs, chunksize=1):
                data.append(example)  # list.append is atomic under the GIL
        print(f"all {len(data)} phantoms ready at {time.monotonic() - t0:.0f} s", flush=True)

    threading.Thread(target=feed, name="phantoms", daemon=True).start()
    while len(data) < min(args.start_after, args.train_cases):
        time.sleep(5)
    print(f"training starts with {len(data)} phantoms at {time.monotonic() - t0:.0f} s", flush=True)
    return data


def _export(net: UNet3D, manifest: Manifest, model_dir: Path) -> None:
    digest = export_onnx(net, manifest, model_dir / manifest.onnx_file)
    raw = json.loads((model_dir / "manifest.json").read_text())
    raw["onnx"]["sha256"] = digest
    (model_dir / "manifest.json").write_text(json.dumps(raw, indent=2) + "\n")
    print(f"exported {manifest.onnx_file} sha256 {digest}", flush=True)


def main() -> None:
    args = _arguments()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    manifest = load_manifest(args.model_dir)
    classes = len(manifest.labels) + 1
    checkpoint = (
        torch.load(args.model_dir / "weights.pt") if args.resume or args.export_only else None
    )
    base = int(checkpoint["base"]) if checkpoint else args.base
    net = UNet3D(in_channels=len(manifest.inputs), classes=classes, base=base)
    if checkpoint:
        key = "raw_state_dict" if args.resume and "raw_state_dict" in checkpoint else "state_dict"
        net.load_state_dict(checkpoint[key])
    if args.export_only:
        _export(net, manifest, args.model_dir)
        return
    t0 = time.monotonic()
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    data = _stream(args, t0)
    ema = _fit(net, data, args, classes, t0)
    _save(net, ema, args)
    net.load_state_dict(ema.module.state_dict())
    _export(net, manifest, args.model_dir)


if __name__ == "__main__":
    main()
