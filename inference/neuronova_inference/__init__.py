"""Pure: NeuroNova inference (model sessions, ONNX pipeline, SEG, worker and API)."""
