#!/bin/sh
# PostgreSQL for Orthanc's index and the portal: the cluster is made at first start; at every
# start each service's role gets the password from the environment (so rotating .env rotates it)
# and its own database, which no other role may connect to. Neither role is a superuser or may
# create databases or roles; the superuser `postgres` logs in only on the container's socket.
set -eu
: "${ORTHANC_DB_PASSWORD:?}" "${PORTAL_DB_PASSWORD:?}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initdb -D "$PGDATA" --username=postgres --auth-local=peer --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' \
        >>"$PGDATA/pg_hba.conf"
fi
pg_ctl -D "$PGDATA" -w -s -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start
psql -h /tmp -U postgres -v ON_ERROR_STOP=1 -q \
    -v orthanc_password="$ORTHANC_DB_PASSWORD" -v portal_password="$PORTAL_DB_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE neuronova_orthanc LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'neuronova_orthanc') \gexec
SELECT 'CREATE ROLE neuronova_portal LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'neuronova_portal') \gexec
ALTER ROLE neuronova_orthanc NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'orthanc_password';
ALTER ROLE neuronova_portal NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'portal_password';
SELECT 'CREATE DATABASE neuronova_orthanc OWNER neuronova_orthanc'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'neuronova_orthanc') \gexec
SELECT 'CREATE DATABASE neuronova_portal OWNER neuronova_portal'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'neuronova_portal') \gexec
REVOKE ALL ON DATABASE neuronova_orthanc FROM PUBLIC;
REVOKE ALL ON DATABASE neuronova_portal FROM PUBLIC;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
SQL
pg_ctl -D "$PGDATA" -w -s -m fast stop
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
