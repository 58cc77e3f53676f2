#!/usr/bin/env bash
# Build the images of docker-compose.yml on this machine, reusing every layer already built.
#   scripts/compose-images.sh [SERVICE...]      (default: the services `up` starts)
# Bases: debian:bookworm-slim comes from the image registry when one answers, else from
# debootstrap (tagged under the official name, so the Dockerfiles stay unchanged). Orthanc's base
# is the native run's Orthanc root itself (scripts/orthanc-root.sh), imported once per pin key.
# Tags: neuronova/<service>:${NEURONOVA_IMAGE_TAG:-latest}. Prints each step and its time.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
mirror=${NEURONOVA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${NEURONOVA_CACHE:-/var/cache/neuronova}/compose
tag=${NEURONOVA_IMAGE_TAG:-latest}
host_ca=/etc/ssl/certs/ca-certificates.crt
say() { printf '[compose-images] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# The legacy builder reads the bases from the local image store without asking a registry.
export DOCKER_BUILDKIT=0

has_image() { docker image inspect "$1" >/dev/null 2>&1; }

base_image() {  # base_image IMAGE SUITE
    local image=$1 suite=$2 dir
    if has_image "$image"; then return; fi
    if timeout 60 docker pull -q "$image" >/dev/null 2>&1; then say "$image: pulled"; return; fi
    command -v debootstrap >/dev/null || die "no registry serves $image and debootstrap is missing"
    say "$image: no registry answers; debootstrap $suite from $mirror (a few minutes, once)"
    dir=$cache/$suite
    rm -rf "$dir"
    debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$dir.log" 2>&1 \
        || die "debootstrap failed: see $dir.log"
    tar -C "$dir" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$image" >/dev/null
    rm -rf "$dir"
}

orthanc_root_image() {  # prints the image name of the current pins' root
    local root key image
    root=$("$repo/scripts/orthanc-root.sh" build)
    key=$(basename "$root")
    image=neuronova/orthanc-root:$key
    if ! has_image "$image"; then
        say "$image: importing $root"
        tar -C "$root" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$image" >/dev/null
    fi
    printf '%s\n' "$image"
}

build() {  # build SERVICE [docker build args]
    local service=$1 started
    shift
    started=$(date +%s)
    docker build -q "$@" -t "neuronova/$service:$tag" -f "$repo/docker/$service.Dockerfile" "$repo" \
        >/dev/null 2> >(grep -v -e DEPRECATED -e BuildKit -e 'environment-variable' -e '^ *$' >&2) \
        || die "building $service failed"
    say "neuronova/$service:$tag built ($(($(date +%s) - started)) s)"
}

services=("$@")
[ ${#services[@]} -gt 0 ] || services=(postgres redis orthanc python nginx)
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9  # one build at a time on this machine: tags are shared
command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer"
base_image debian:bookworm-slim bookworm
# pip in the python image's build stage trusts what this host trusts (a TLS-inspecting proxy).
if [ -s "$host_ca" ]; then cp "$host_ca" "$repo/docker/ca/ca-certificates.crt"; fi
[ -d "$repo/spa/dist" ] && [ -d "$repo/ohif-build/dist" ] ||
    die "spa/dist or ohif-build/dist missing: scripts/bootstrap.sh builds them"
for service in "${services[@]}"; do
    case $service in
        orthanc) build orthanc --build-arg "ORTHANC_ROOT=$(orthanc_root_image)" ;;
        python | nginx | postgres | redis | prometheus) build "$service" ;;
        *) die "no image for $service" ;;
    esac
done
