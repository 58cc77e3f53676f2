# One image recipe for the Python deployables; GROUP picks the dependency group from pyproject.toml.
#   portal:     docker build --build-arg GROUP=portal    -f docker/python.Dockerfile .
#   inference:  docker build --build-arg GROUP=inference -f docker/python.Dockerfile .
FROM python:3.11-slim-bookworm
ARG GROUP=portal
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --home /app neuronova
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir --upgrade pip \
 && pip install --no-cache-dir --group "pyproject.toml:${GROUP}"
COPY django-portal ./django-portal
COPY contracts ./contracts
COPY inference ./inference
COPY models ./models
ENV PYTHONPATH=/app/django-portal:/app/inference:/app/contracts NEURONOVA_MODELS_DIR=/app/models
USER neuronova
