# Prometheus and Alertmanager from Debian 12 (the `monitoring` profile of docker-compose.yml).
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o prometheus -g prometheus /var/lib/prometheus/data
USER prometheus
