"""Benchmark helper (pure computation, offline): where the viewer's bytes ratio comes from.

``.venv/bin/python bench/viewer.py --breakdown`` runs it (no stack, no browser, ~10 s).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pydicom

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from tests.support.web import generate_study  # noqa: E402

DEMO_SEED = 424242


def breakdown(small: bool) -> None:
    """Offline: where the viewer's bytes ratio comes from (no stack, no browser).

    The frames the viewer receives are the bare HTJ2K codestreams (single-part answers, no
    multipart framing, no JSON), so the codec-only ratio of the plugin's own encoder on the
    demo's pixels predicts (a). It is then set against bench/ingest.py's synthetic series."""
    import numpy as np  # noqa: PLC0415 - only this offline mode needs them
    from numpy.typing import NDArray  # noqa: PLC0415

    sys.path[:0] = [str(REPO / "orthanc-plugins")]
    from neuronova_plugin.transcode import encode_frame  # noqa: PLC0415

    from tests.support.orthanc import synthetic_mr_series  # noqa: PLC0415

    def ratio(frames: list[NDArray[np.uint16]]) -> tuple[float, int]:
        streams = [encode_frame(frame)[0] for frame in frames]
        header = streams[0].find(b"\xff\x90")  # first tile-part (SOT): end of the main header
        return sum(map(len, streams)) / sum(f.nbytes for f in frames), header

    with tempfile.TemporaryDirectory() as tmp:
        files = generate_study(Path(tmp) / "demo", seed=DEMO_SEED, small=small)
        series: dict[str, list[pydicom.Dataset]] = {}
        for path in files:
            ds = pydicom.dcmread(path)
            series.setdefault(str(ds.SeriesDescription), []).append(ds)
    print(
        f"demo seed {DEMO_SEED}, {'small' if small else 'demo'} grid, plugin encoder, codec only:"
    )
    for name, items in series.items():
        frames = [ds.pixel_array for ds in items]
        value, header = ratio(frames)
        first = items[0]
        corner = np.concatenate([f[:8, :8].ravel() for f in frames]).astype(np.float64)
        # Magnitude images: air is Rayleigh, mean = sigma * sqrt(pi / 2).
        sigma = corner.mean() / np.sqrt(np.pi / 2)
        print(
            f"  {name:12s} {first.Rows}x{first.Columns}x{len(frames)} BitsStored "
            f"{first.BitsStored}/{first.BitsAllocated}: HTJ2K/raw {value:.3f}; main header "
            f"{header} B/frame; air noise sigma ~{sigma:.1f} (Rayleigh fit of the corners)"
        )
    rng = np.random.default_rng(0)
    for sigma in (2.0, 16.4):
        air = np.hypot(rng.normal(0, sigma, (256, 256)), rng.normal(0, sigma, (256, 256)))
        value, _ = ratio([np.rint(air).astype(np.uint16)])
        print(f"  pure Rayleigh air, sigma {sigma:4.1f}: {value * 16:.2f} bit/pixel ({value:.3f})")
    print("bench/ingest.py's synthetic series (tests/support/orthanc.py), 40 slices:")
    for size in (256, 96):
        frames = [ds.pixel_array for ds in synthetic_mr_series(40, rows=size, columns=size, seed=1)]
        value, _ = ratio(frames)
        # The same slices with the air given the tissue's noise (sd 0.004 * 4095 ~ 16.4), as a
        # magnitude image's background has: Rayleigh with the tissue's sigma.
        noisy = []
        for frame in frames:
            air = frame < 8  # the generator's air: sd 2.0 around 0, clipped at 0
            out = frame.astype(np.float64)
            out[air] = np.hypot(rng.normal(0, 16.4, air.sum()), rng.normal(0, 16.4, air.sum()))
            noisy.append(np.rint(out).astype(np.uint16))
        rician, _ = ratio(noisy)
        print(
            f"  {size}x{size}: HTJ2K/raw {value:.3f} as generated (air sd 2.0); "
            f"{rician:.3f} with Rayleigh air of the tissue's sigma 16.4"
        )
