# Orthanc for production: the very root the native run and the tests run (Debian sid with the pins
# of docker/orthanc/packages.txt and the plugin's venv), imported as an image by
# `scripts/orthanc-root.sh image` (tag neuronova/orthanc-root:<key of the pins>), plus NeuroNova's
# Python plugin and the native HTJ2K codec plugin compiled against that root's SDK and OpenJPH.
ARG ORTHANC_ROOT=neuronova/orthanc-root:latest

FROM ${ORTHANC_ROOT} AS codec
COPY orthanc-plugins/htj2k-codec /src
RUN make -s -C /src -j2 OUT=/out /out/libNeuroNovaHtj2k.so

FROM ${ORTHANC_ROOT}
RUN useradd --system --uid 10042 --home-dir /var/lib/orthanc --shell /usr/sbin/nologin neuronova \
 && mkdir -p /var/lib/orthanc/db /var/lib/orthanc/neuronova && chown -R neuronova /var/lib/orthanc
COPY --from=codec /out/libNeuroNovaHtj2k.so /usr/local/lib/neuronova/libNeuroNovaHtj2k.so
COPY orthanc-plugins/entry.py /neuronova/orthanc-plugins/entry.py
COPY orthanc-plugins/neuronova_plugin /neuronova/orthanc-plugins/neuronova_plugin
# entry.py puts ../contracts on the path (shared with inference and the portal).
COPY contracts /neuronova/contracts
# The plugin reads the model's manifest (required MR sequences) to decide which series are eligible.
COPY models /neuronova/models
COPY docker/orthanc/orthanc.json /etc/orthanc/orthanc.json
COPY docker/orthanc/healthcheck.py /usr/local/bin/orthanc-healthcheck
ENV PYTHONDONTWRITEBYTECODE=1
USER neuronova
WORKDIR /var/lib/orthanc
EXPOSE 4242 8042
ENTRYPOINT ["/usr/sbin/Orthanc", "/etc/orthanc/orthanc.json"]
