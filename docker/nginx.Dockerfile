# nginx with the two modules the configuration loads: image_filter (DICOMweb thumbnails) and
# stream (the DICOM entry of several Orthanc replicas). Runs unprivileged on a read-only root.
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends nginx libnginx-mod-http-image-filter \
      libnginx-mod-stream gettext-base curl \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* /etc/nginx/conf.d/*
COPY nginx/neuronova.conf.template /etc/neuronova/templates/neuronova.conf.template
COPY nginx/snippets /etc/nginx/snippets
COPY docker/nginx/nginx.conf.template /etc/neuronova/templates/nginx.conf.template
COPY docker/nginx/entrypoint.sh /usr/local/bin/neuronova-nginx
# The web builds, made on the build host by scripts/bootstrap.sh (npm), as the native run serves them.
COPY spa/dist /usr/share/neuronova/www/spa
COPY ohif-build/dist /usr/share/neuronova/www/pacs-viewer
USER www-data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/neuronova-nginx"]
