# Redis from Debian 12: Celery's broker (queued AI and portal jobs, persisted append-only).
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
COPY docker/redis/entrypoint.sh /usr/local/bin/neuronova-redis
USER redis
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/neuronova-redis"]
