#!/usr/bin/env bash
# Installs what NeuroNova needs on a Debian 12 machine (as root) and skips what is already there.
#   scripts/bootstrap.sh runtime   what `make up` needs: Debian services, the Python venv, web builds
#   scripts/bootstrap.sh test      runtime + what `make test` needs (dev tools, Chromium, promtool…)
# Each step is keyed on the inputs it was made from (pyproject.toml, package-lock.json, sources),
# so a second run changes nothing and prints one line per step.
set -euo pipefail

mode=${1:-runtime}
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${NEURONOVA_VENV:-$root/.venv}
stamps=$venv/.neuronova-stamps
say() { printf '[bootstrap] %s\n' "$*"; }

# Orthanc itself is not among them: it runs from a Debian sid root (scripts/orthanc-root.sh).
# libnginx-mod-stream: the one DICOM entry in front of several Orthanc replicas (docs/scaling.md).
# libnginx-mod-http-image-filter: nginx scales DICOMweb thumbnails (docs/portal.md).
runtime_debs=(debootstrap nginx libnginx-mod-stream libnginx-mod-http-image-filter redis-server dcmtk dicom3tools python3.11
              python3.11-venv ca-certificates)
test_debs=(chromium fonts-liberation fonts-nanum docker-compose prometheus prometheus-alertmanager)

install_debs() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    command -v node >/dev/null || missing+=(nodejs npm)
    if [ ${#missing[@]} -eq 0 ]; then
        say "Debian packages: all present"
        return
    fi
    say "Debian packages: installing ${missing[*]}"
    # Packaged daemons (orthanc, nginx, redis, prometheus) must not start on their default ports:
    # NeuroNova runs its own instances under supervisord.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
}

# The services and the tests run on Debian 12's python3.11 (the plugin's own venv is in the
# Orthanc root, for the Python 3.14 that sid's orthanc-python embeds).
install_python() {
    local group=$1 key
    if [ ! -x "$venv/bin/python" ]; then
        say "Python: creating $venv from /usr/bin/python3.11"
        /usr/bin/python3.11 -m venv "$venv"
        "$venv/bin/pip" install -q --upgrade pip
    fi
    mkdir -p "$stamps"
    key=$(sha256sum "$root/pyproject.toml" | cut -c1-16)
    if [ -f "$stamps/python-$group-$key" ]; then
        say "Python group '$group': up to date"
        return
    fi
    say "Python group '$group': installing"
    "$venv/bin/pip" install -q --disable-pip-version-check --group "$root/pyproject.toml:$group"
    touch "$stamps/python-$group-$key"
}

# Orthanc 1.13 from Debian sid in a root prepared once (keyed on docker/orthanc/packages.txt),
# then the native HTJ2K codec plugin built against it: `build.sh ROOT OUT` leaves
# OUT/libNeuroNovaHtj2k.so (stack/orthanc_root.py loads it from there) and skips itself when
# nothing changed.
prepare_orthanc() {
    local orthanc_root codec=$root/orthanc-plugins/htj2k-codec
    orthanc_root=$("$root/scripts/orthanc-root.sh" build)
    if [ -x "$codec/build.sh" ]; then
        "$codec/build.sh" "$orthanc_root" "$codec/build" >/dev/null
    else
        say "HTJ2K codec plugin: no $codec/build.sh yet, Orthanc runs without it"
    fi
}

# MariaDB for the portal's MySQL-backend tests: the CI machine runs one (root, empty password);
# elsewhere install Debian's server and start it the same way.
mariadb_answers() {
    "$venv/bin/python" -c "import pymysql; pymysql.connect(host='127.0.0.1', user='root', password='', connect_timeout=2).close()" 2>/dev/null
}
ensure_mariadb() {
    if mariadb_answers; then
        say "MariaDB: answering on 127.0.0.1:3306"
        return
    fi
    install_debs mariadb-server
    say "MariaDB: starting mariadbd"
    install -d -o mysql -g mysql /run/mysqld
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1
    for _ in $(seq 60); do [ -S /run/mysqld/mysqld.sock ] && break; sleep 1; done
    mariadb -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); CREATE DATABASE IF NOT EXISTS test;"
    mariadb_answers || { say "MariaDB: still not answering as root on 127.0.0.1:3306"; exit 1; }
}

# PostgreSQL for Orthanc's index in the cluster tests and NEURONOVA_ORTHANC_DB=postgresql: the
# machines run one on 127.0.0.1:5432 (trust for local TCP); elsewhere install Debian's server,
# start its cluster and trust the local administrator on 127.0.0.1 the same way.
postgres_answers() {
    "$venv/bin/python" -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=2').close()" 2>/dev/null
}
ensure_postgres() {
    if postgres_answers; then
        say "PostgreSQL: answering on 127.0.0.1:5432"
        return
    fi
    install_debs postgresql
    local version hba
    version=$(ls /etc/postgresql | sort -V | tail -1)
    hba=/etc/postgresql/$version/main/pg_hba.conf
    grep -q "^host all postgres 127.0.0.1/32 trust" "$hba" \
        || sed -i "1i host all postgres 127.0.0.1/32 trust" "$hba"
    say "PostgreSQL: starting cluster $version/main"
    pg_ctlcluster "$version" main start 2>/dev/null || pg_ctlcluster "$version" main reload
    for _ in $(seq 30); do postgres_answers && break; sleep 1; done
    postgres_answers || { say "PostgreSQL: still not answering as postgres on 127.0.0.1:5432"; exit 1; }
}

# npm projects: `npm ci` when the lockfile changed, `npm run build` when any source changed.
build_web() {
    local dir=$1 build=${2:-yes} key
    [ -f "$dir/package.json" ] || { say "web: $dir has no package.json yet, skipped"; return; }
    mkdir -p "$stamps"
    key=$(sha256sum "$dir/package-lock.json" 2>/dev/null | cut -c1-16)
    local name
    name=$(echo "${dir#"$root"/}" | tr '/' '_')
    if [ ! -f "$stamps/npm-$name-$key" ] || [ ! -d "$dir/node_modules" ]; then
        say "web: npm ci in ${dir#"$root"/}"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        touch "$stamps/npm-$name-$key"
    fi
    [ "$build" = yes ] || return 0
    # The part's own files and web-shared/, which both parts bundle.
    key=$( (cd "$dir" && find . -path ./node_modules -prune -o -path ./dist -prune -o -type f -print0 \
              | sort -z | xargs -0 sha256sum
            cd "$root/web-shared" && find . -type f -print0 | sort -z | xargs -0 sha256sum) \
          | sha256sum | cut -c1-16)
    if [ -f "$stamps/build-$name-$key" ] && [ -d "$dir/dist" ]; then
        say "web: ${dir#"$root"/} build up to date"
        return
    fi
    say "web: building ${dir#"$root"/}"
    (cd "$dir" && npm run build --silent)
    touch "$stamps/build-$name-$key"
}

case "$mode" in
    runtime)
        install_debs "${runtime_debs[@]}"
        install_python runtime-services
        prepare_orthanc
        if [ "${NEURONOVA_ORTHANC_DB:-sqlite}" = postgresql ] \
            && [ "${NEURONOVA_ORTHANC_PG_HOST:-127.0.0.1}" = 127.0.0.1 ]; then
            ensure_postgres
        fi
        ;;
    test)
        install_debs "${runtime_debs[@]}" "${test_debs[@]}"
        install_python dev
        prepare_orthanc
        ensure_mariadb
        ensure_postgres
        ;;
    *) echo "usage: $0 runtime|test" >&2; exit 2 ;;
esac
build_web "$root/spa"
build_web "$root/ohif-build"
if [ "$mode" = test ]; then
    build_web "$root/tests/support/fhir_server" no
fi
say "done"
