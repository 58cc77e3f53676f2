"""adapter: ONNX Runtime. One InferenceSession per process, CUDA first when the build has it."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]
from neuronova_contracts.manifest import Manifest
from numpy.typing import NDArray

PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


class ModelIntegrityError(RuntimeError):
    """The ONNX file does not match the manifest's sha256."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def providers(requested: tuple[str, ...] = PREFERRED_PROVIDERS) -> list[str]:
    available = set(ort.get_available_providers())
    return [p for p in requested if p in available]


class OnnxModel:
    """Runs a manifest's network; ``__call__`` takes the (1, C, ...) input, returns (1, K, ...)."""

    def __init__(self, manifest: Manifest, model_dir: Path, threads: int = 0) -> None:
        path = model_dir / manifest.onnx_file
        actual = sha256_file(path)
        if actual != manifest.sha256:
            raise ModelIntegrityError(
                f"{path} has sha256 {actual}, manifest says {manifest.sha256}"
            )
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.manifest = manifest
        self.session = ort.InferenceSession(str(path), options, providers=providers())
        self._lock = threading.Lock()  # one run at a time per session (API threads share it)

    @property
    def provider(self) -> str:
        return str(self.session.get_providers()[0])

    def __call__(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        with self._lock:
            (out,) = self.session.run(
                [self.manifest.output_name], {self.manifest.input_name: x.astype(np.float32)}
            )
        result: NDArray[np.float32] = np.asarray(out, dtype=np.float32)
        return result
