# Inference on an NVIDIA GPU: onnxruntime-gpu on CUDA 12 + cuDNN 9. ONNX Runtime picks the CUDA
# provider when a GPU is reserved and falls back to the CPU provider otherwise (same image).
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* && python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN useradd --system --uid 10001 --home /app neuronova
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir --upgrade pip \
 && pip install --no-cache-dir --group "pyproject.toml:inference" \
 && pip uninstall -y onnxruntime && pip install --no-cache-dir onnxruntime-gpu
COPY contracts ./contracts
COPY inference ./inference
COPY models ./models
ENV PYTHONPATH=/app/inference:/app/contracts NEURONOVA_MODELS_DIR=/app/models
USER neuronova
