"""pure: NeuroNova inference (synthetic data, model registry, ONNX pipeline, worker, API)."""
