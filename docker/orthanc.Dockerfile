# Orthanc from the orthancteam image with NeuroNova's plugin dependencies for its embedded Python.
FROM orthancteam/orthanc:24.12.1
COPY pyproject.toml /tmp/neuronova/pyproject.toml
RUN pip install --no-cache-dir --break-system-packages --upgrade pip \
 && pip install --no-cache-dir --break-system-packages --group "/tmp/neuronova/pyproject.toml:plugin"
