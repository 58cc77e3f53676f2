# One image for every Python deployable (portal, its worker, the inference API and worker): one
# build, shared layers. Debian 12's Python 3.11, the same as the native venv's.
FROM debian:bookworm-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
# libpq5: psycopg (the portal on PostgreSQL); libgomp1: onnxruntime's and scipy's threads.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 ca-certificates libpq5 libgomp1 \
 && rm -rf /var/lib/apt/lists/*

FROM runtime AS venv
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml /tmp/neuronova/pyproject.toml
# docker/ca/ holds the build host's CA bundle when its proxy needs one (scripts/compose-images.sh);
# this stage only: the final image never carries it.
COPY docker/ca/ /tmp/ca/
RUN if [ -s /tmp/ca/ca-certificates.crt ]; then export PIP_CERT=/tmp/ca/ca-certificates.crt; fi \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install -q --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install -q --no-cache-dir \
      --group /tmp/neuronova/pyproject.toml:portal --group /tmp/neuronova/pyproject.toml:inference

FROM runtime
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin neuronova \
 && install -d -o neuronova -g neuronova /var/lib/neuronova /var/lib/neuronova/portal \
      /var/lib/neuronova/portal/static
COPY --from=venv /opt/venv /opt/venv
WORKDIR /app
COPY contracts /app/contracts
COPY django-portal /app/django-portal
COPY inference /app/inference
COPY models /app/models
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONPATH=/app/django-portal:/app/inference:/app/contracts \
    NEURONOVA_MODELS_DIR=/app/models
USER neuronova
