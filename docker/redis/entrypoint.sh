#!/bin/sh
# Redis with the password from the environment, given on standard input: never on a command line
# that `ps` or `docker inspect` shows. Queued jobs persist in /var/lib/redis (append-only file).
set -eu
: "${REDIS_PASSWORD:?set REDIS_PASSWORD}"
printf 'bind 0.0.0.0\nport 6379\nprotected-mode yes\ndir /var/lib/redis\nappendonly yes\nsave ""\nrequirepass %s\n' \
    "$REDIS_PASSWORD" | exec redis-server -
