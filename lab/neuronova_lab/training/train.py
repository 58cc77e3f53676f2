"""wiring: train the shipped model on generated phantoms (CPU PyTorch) and export it to ONNX.

    python -m neuronova_lab.training.train --model-dir models/nn-brain-tumour-synth

Reproduces model.onnx and rewrites the sha256 in manifest.json. Seeds 0..N-1 of the "training"
ranges train; the evaluation sets use seeds from 100000 (evaluate.py), never seen in training.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from neuronova_contracts.manifest import Manifest
from numpy.typing import NDArray
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from neuronova_lab.synthetic.ranges import PROFILES
from neuronova_lab.training.data import Example
from neuronova_lab.training.net import UNet3D
from neuronova_lab.training.phantoms import Job, load_manifest, stream


def _head_mask(ex: Example) -> NDArray[np.bool_]:
    """Voxels of the head: above the air level of the normalised reference channel (air sits at
    the channel's minimum after the z-score and the clip)."""
    ref = ex.image[0].astype(np.float32)
    mask: NDArray[np.bool_] = ref > float(ref.min()) + 0.5
    return mask


def _augment(rng: np.random.Generator, x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Appearance randomisation on top of the generator's, per channel: a contrast curve (gamma
    on the clipped z-score range, then the crop's mean and sd restored, as the pipeline's own
    z-score would), a smooth linear bias across the crop (at most +-10 % per axis), scale, shift,
    noise. Cheap, so that a few hundred phantoms stand for more contrasts than they hold."""
    channels = x.shape[0]
    out = np.empty_like(x)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in x.shape[1:]], indexing="ij"))
    for c in range(channels):
        v = x[c]
        if rng.random() < 0.7:
            gamma = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
            curved = (np.clip((v + 5.0) / 10.0, 0.0, 1.0) ** gamma) * 10.0 - 5.0
            sd = float(curved.std()) or 1.0
            v = ((curved - curved.mean()) / sd * float(v.std()) + float(v.mean())).astype(
                np.float32
            )
        if rng.random() < 0.5:
            field = 1.0 + np.tensordot(rng.uniform(-0.1, 0.1, 3), grid, axes=1)
            low = float(v.min())
            v = ((v - low) * field + low).astype(np.float32)
        out[c] = v
    scale = rng.uniform(0.85, 1.15, (channels, 1, 1, 1)).astype(np.float32)
    shift = rng.uniform(-0.2, 0.2, (channels, 1, 1, 1)).astype(np.float32)
    noise = rng.normal(0, rng.uniform(0, 0.2), x.shape).astype(np.float32)
    return (out * scale + shift + noise).astype(np.float32)


def _crop(
    rng: np.random.Generator, ex: Example, patch: int, tumour_share: float = 0.65
) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    shape = np.array(ex.labels.shape)
    present = [int(v) for v in np.unique(ex.labels) if v > 0]
    if rng.random() < tumour_share and present:
        # Class-balanced: centre on a voxel of one label drawn uniformly among those present, so
        # a necrotic core of a few hundred voxels is seen as often as the oedema around it.
        where = np.argwhere(ex.labels == present[int(rng.integers(len(present)))])
        centre = where[rng.integers(len(where))]
        start = np.clip(centre - patch // 2 + rng.integers(-8, 9, 3), 0, shape - patch)
    else:
        # Elsewhere in the head (not in the air around it): normal brain, CSF, scalp and the
        # non-tumour white-matter lesions are where no-tumour false positives are made.
        where = np.argwhere(_head_mask(ex))
        if len(where):
            centre = where[rng.integers(len(where))]
            start = np.clip(centre - patch // 2, 0, shape - patch)
        else:
            start = np.array([rng.integers(0, s - patch + 1) for s in shape])
    sl = tuple(slice(int(a), int(a) + patch) for a in start)
    x, y = ex.image[(slice(None), *sl)].astype(np.float32), ex.labels[sl]
    if rng.random() < 0.5:  # left-right flip (last axis is x in the zyx model grid)
        x, y = x[..., ::-1], y[..., ::-1]
    x = _augment(rng, np.ascontiguousarray(x, dtype=np.float32))
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
    ap.add_argument(
        "--init", type=Path, help="start from these weights (a weights.pt or checkpoint)"
    )
    ap.add_argument(
        "--out", type=Path, help="weights.pt and checkpoints go here (default: model dir)"
    )
    ap.add_argument(
        "--replay",
        default="",
        help="PROFILE:CASES: also train on this many phantoms of another profile (curriculum)",
    )
    ap.add_argument(
        "--replay-share",
        type=float,
        nargs=2,
        default=(0.5, 0.15),
        help="share of batches drawn from --replay at the first and at the last iteration",
    )
    ap.add_argument(
        "--tumour-share",
        type=float,
        default=0.65,
        help="share of crops centred on a tumour label; the rest anywhere in the head",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ema", type=float, default=0.995, help="decay of the weights' average")
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument(
        "--start-after",
        type=int,
        default=60,
        help="start training once this many phantoms exist; the rest join while it runs",
    )
    ap.add_argument(
        "--workers-follow",
        action="store_true",
        help="generate nothing: read the cache as another process fills it",
    )
    ap.add_argument(
        "--export-only", action="store_true", help="export the model dir's weights.pt and stop"
    )
    return ap.parse_args()


def _replay_share(args: argparse.Namespace, it: int) -> float:
    """Curriculum: the replayed profile's share falls linearly over the run."""
    first, last = args.replay_share
    return float(first + (last - first) * it / max(args.iterations - 1, 1))


def _batch(
    rng: np.random.Generator, data: dict[str, list[Example]], args: argparse.Namespace, it: int
) -> tuple[torch.Tensor, torch.Tensor]:
    crops = []
    for _ in range(args.batch):
        pool = data[args.profile]
        replay = data.get(args.replay.partition(":")[0]) if args.replay else None
        if replay and (not pool or rng.random() < _replay_share(args, it)):
            pool = replay
        crops.append(_crop(rng, pool[rng.integers(len(pool))], args.patch, args.tumour_share))
    x = torch.from_numpy(np.stack([c[0] for c in crops]))
    y = torch.from_numpy(np.stack([c[1] for c in crops]).astype(np.int64))
    return x, y


def _fit(
    net: UNet3D, data: dict[str, list[Example]], args: argparse.Namespace, classes: int, t0: float
) -> AveragedModel:
    """Train ``net``; returns the exponential moving average of its weights (what ships: it is
    smoother than the last step's weights and usable even when a run is stopped early)."""
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.iterations, pct_start=0.1
    )
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(args.ema))  # type: ignore[no-untyped-call]
    rng = np.random.default_rng(args.seed)
    net.train()
    for it in range(args.iterations):
        x, y = _batch(rng, data, args, it)
        loss = _loss(net(x), y, classes)
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        sched.step()
        ema.update_parameters(net)
        if it % 10 == 0 or it == args.iterations - 1:
            counts = "/".join(str(len(v)) for v in data.values())
            print(
                f"it {it} loss {loss.item():.4f} phantoms {counts} t {time.monotonic() - t0:.0f} s",
                flush=True,
            )
        if it % args.checkpoint_every == args.checkpoint_every - 1:
            # A crash or a kill loses at most one interval (--resume); each checkpoint is kept
            # so that they can be evaluated while the run goes on.
            _save(net, ema, args, args.out / f"checkpoint-{it + 1}.pt")
            _save(net, ema, args, args.out / "weights.pt")
    return ema


def _save(net: UNet3D, ema: AveragedModel, args: argparse.Namespace, path: Path) -> None:
    """The averaged weights (``state_dict``, what is exported) and the raw ones."""
    checkpoint = {
        "base": int(net.head.in_channels),
        "state_dict": ema.module.state_dict(),
        "raw_state_dict": net.state_dict(),
    }
    partial = path.with_suffix(".partial")
    torch.save(checkpoint, partial)
    partial.replace(path)


def _jobs(args: argparse.Namespace) -> list[Job]:
    """Training seeds with the replayed profile's interleaved in proportion, so that phantoms
    generated while training runs join both pools from the start."""
    jobs: list[Job] = [(s, args.profile) for s in range(args.train_cases)]
    if args.replay:
        profile, _, cases = args.replay.partition(":")
        replay = [(s, profile) for s in range(int(cases))]
        order = sorted(
            [(i / len(jobs), job) for i, job in enumerate(jobs)]
            + [((i + 0.5) / len(replay), job) for i, job in enumerate(replay)],
            key=lambda item: item[0],
        )
        jobs = [job for _, job in order]
    return jobs


def _export(net: UNet3D, manifest: Manifest, model_dir: Path, out: Path) -> None:
    """Export to ``out``'s ONNX file and write the model dir's manifest there with its sha256."""
    digest = export_onnx(net, manifest, out / manifest.onnx_file)
    raw = json.loads((model_dir / "manifest.json").read_text())
    raw["onnx"]["sha256"] = digest
    (out / "manifest.json").write_text(json.dumps(raw, indent=2) + "\n")
    print(f"exported {out / manifest.onnx_file} sha256 {digest}", flush=True)


def main() -> None:
    args = _arguments()
    args.out = args.out or args.model_dir
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    manifest = load_manifest(args.model_dir)
    classes = len(manifest.labels) + 1
    source = args.init or (args.model_dir / "weights.pt")
    resume = args.resume or args.export_only or args.init is not None
    checkpoint = torch.load(source) if resume else None
    base = int(checkpoint["base"]) if checkpoint else args.base
    net = UNet3D(in_channels=len(manifest.inputs), classes=classes, base=base)
    if checkpoint:
        # Training continues from the raw weights; exporting takes the average.
        raw = not args.export_only and "raw_state_dict" in checkpoint
        net.load_state_dict(checkpoint["raw_state_dict" if raw else "state_dict"])
    if args.export_only:
        _export(net, manifest, args.model_dir, args.out)
        return
    t0 = time.monotonic()
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    data = stream(
        _jobs(args),
        model_dir=args.model_dir,
        cache=args.cache,
        workers=args.workers,
        follow=args.workers_follow,
        start_after=args.start_after,
        t0=t0,
    )
    ema = _fit(net, data, args, classes, t0)
    _save(net, ema, args, args.out / "weights.pt")
    net.load_state_dict(ema.module.state_dict())
    _export(net, manifest, args.model_dir, args.out)


if __name__ == "__main__":
    main()
