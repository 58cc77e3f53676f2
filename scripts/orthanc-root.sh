#!/usr/bin/env bash
# The Orthanc runtime: Debian sid's Orthanc and plugins (docker/orthanc/packages.txt) in a
# debootstrapped root, run through a private mount + pid namespace and chroot on the host network.
#   scripts/orthanc-root.sh build          prepare the root once (keyed on the pins), then the plugin venv
#   scripts/orthanc-root.sh path           print the root of the current pins (fails when not built)
#   scripts/orthanc-root.sh run [--bind P | --ro-bind P]... -- COMMAND...
#                                          run COMMAND in the root with host paths P at the same path
# The root lives in ${NEURONOVA_CACHE:-/var/cache/neuronova}/orthanc-root/<key> (outside var/, so
# `make clean` does not cost a rebuild); see docs/ARCHITECTURE.md. `run` never writes to it: a tmpfs
# overlay takes every write outside the bound paths and vanishes with the namespace, like the mounts.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
pins_file=$repo/docker/orthanc/packages.txt
cache=${NEURONOVA_CACHE:-/var/cache/neuronova}/orthanc-root
mirror=${NEURONOVA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
venv=/opt/neuronova/venv               # inside the root: the plugin's Python dependencies
host_ca=/etc/ssl/certs/ca-certificates.crt
say() { printf '[orthanc-root] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

pins() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$pins_file"; }

# The root is made by build_root from the pins: both are its key.
build_root() {
    local target=$1
    # minbase + apt: debootstrap's own resolver does not cope with sid's alternatives.
    debootstrap --variant=minbase --components=main sid "$target" "$mirror" >"$target.log" 2>&1 \
        || die "debootstrap failed: see $target.log"
    printf 'deb %s sid main\n' "$mirror" >"$target/etc/apt/sources.list"
    # The registry's sid Release is past its Valid-Until; no daemon may start inside the root.
    printf 'Acquire::Check-Valid-Until "false";\n' >"$target/etc/apt/apt.conf.d/99neuronova"
    printf '#!/bin/sh\nexit 101\n' >"$target/usr/sbin/policy-rc.d"
    chmod +x "$target/usr/sbin/policy-rc.d"
    in_root_rw "$target" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $(pins | tr '\n' ' ') && apt-get clean" \
        >>"$target.log" 2>&1 || die "installing the pinned packages failed: see $target.log"
    local pin name want have
    while read -r pin; do
        name=${pin%%=*} want=${pin#*=}
        have=$(chroot "$target" dpkg-query -W -f='${Version}' "$name")
        [ "$have" = "$want" ] || die "$name is $have in the root, pinned $want"
    done < <(pins)
    rm -rf "$target/var/lib/apt/lists/"*
}

key() { { pins; declare -f build_root; } | sha256sum | cut -c1-16; }
root_dir() { printf '%s/%s\n' "$cache" "$(key)"; }

# A command in the root itself (build time only: writes persist). Network and CA bundle are the
# host's, bound for the command's lifetime, never copied in.
in_root_rw() {
    local target=$1
    shift
    unshare --mount --propagation private -- /bin/sh -ec '
        t=$1; ca=$2; shift 2
        mount -t proc proc "$t/proc"
        mount --rbind /dev "$t/dev"
        mount --bind /etc/resolv.conf "$t/etc/resolv.conf" 2>/dev/null || true
        if [ -f "$ca" ]; then mkdir -p "$t/run/host-ca"; touch "$t/run/host-ca/ca.crt"
            mount --bind -o ro "$ca" "$t/run/host-ca/ca.crt"; fi
        exec chroot "$t" /usr/bin/env PIP_CERT=/run/host-ca/ca.crt SSL_CERT_FILE=/run/host-ca/ca.crt \
            PIP_FIND_LINKS= PIP_EXTRA_INDEX_URL= PIP_CONFIG_FILE=/dev/null "$@"
    ' sh "$target" "$host_ca" "$@"
}

plugin_group() {
    python3 - "$repo/pyproject.toml" <<'PY'
import sys, tomllib
print("\n".join(sorted(map(str, tomllib.load(open(sys.argv[1], "rb"))["dependency-groups"]["plugin"]))))
PY
}

build_venv() {
    local root=$1 key stamp
    key=$({ plugin_group; cat "$root/.neuronova-root"; } | sha256sum | cut -c1-16)
    stamp=$root$venv/.neuronova-plugin-$key
    if [ -f "$stamp" ]; then
        say "plugin venv: up to date ($root$venv)"
        return
    fi
    say "plugin venv: installing the 'plugin' dependency group (cp314 wheels)"
    plugin_group >"$root/tmp/plugin-requirements.txt"
    in_root_rw "$root" /bin/sh -ec "
        [ -x $venv/bin/python ] || python3 -m venv $venv
        $venv/bin/pip install -q --disable-pip-version-check --only-binary=:all: \
            -r /tmp/plugin-requirements.txt" \
        || die "pip install in the root failed"
    rm -f "$root/tmp/plugin-requirements.txt" "$root$venv"/.neuronova-plugin-*
    touch "$stamp"
}

cmd_build() {
    local root
    root=$(root_dir)
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock 9  # one builder at a time; the others wait and find it done
    if [ -f "$root/.neuronova-root" ]; then
        say "root: up to date ($root)"
    else
        command -v debootstrap >/dev/null || die "debootstrap is not installed (scripts/bootstrap.sh installs it)"
        say "root: preparing Debian sid with $(pins | tr '\n' ' ')(a few minutes, once)"
        rm -rf "$root.tmp" "$root.tmp.log"
        mkdir -p "$root.tmp"
        build_root "$root.tmp"
        printf '%s\n' "$(pins)" >"$root.tmp/.neuronova-root"
        mv "$root.tmp.log" "$root.log"
        mv "$root.tmp" "$root"
    fi
    touch "$root.used"
    # Other pins' roots (another checkout's, or older ones) go once unused for two days; an
    # Orthanc running on one keeps it alive (`run` touches it).
    local other stamp
    for other in "$cache"/*/.neuronova-root; do
        other=${other%/.neuronova-root}
        stamp=$other.used
        [ -e "$stamp" ] || stamp=$other
        [ "$other" = "$root" ] || [ -z "$(find "$stamp" -maxdepth 0 -mmin +2880)" ] ||
            rm -rf "$other" "$other.log" "$other.stage" "$other.used"
    done
    build_venv "$root"
    printf '%s\n' "$root"
}

cmd_path() {
    local root
    root=$(root_dir)
    [ -f "$root/.neuronova-root" ] || die "no Orthanc root for these pins at $root: run scripts/bootstrap.sh runtime"
    printf '%s\n' "$root"
}

# run: a new mount and pid namespace; COMMAND is its pid 1 (a SIGTERM to the process group reaches
# it, everything it starts dies with it), unshare waits for it and --kill-child kills it if
# unshare itself is killed. The mounts exist only in the namespace: nothing is left to unmount.
cmd_run() {
    local root lines=() binds=() path mode sorted
    root=$(cmd_path)
    touch "$root.used"
    while [ $# -gt 0 ]; do
        case $1 in
            --bind | --ro-bind) lines+=("$(realpath -m "$2")"$'\t'"$1"); shift 2 ;;
            --) shift; break ;;
            *) die "run: unknown option $1" ;;
        esac
    done
    [ $# -gt 0 ] || die "run: no command"
    # Parents before children, so a writable folder can sit inside a read-only one. (No process
    # substitution: its unreaped child would become a zombie of unshare after the exec.)
    if [ ${#lines[@]} -gt 0 ]; then
        sorted=$(printf '%s\n' "${lines[@]}" | sort -t $'\t' -k1,1 -u)
        while IFS=$'\t' read -r path mode; do
            binds+=("$mode" "$path")
        done <<<"$sorted"
    fi
    exec unshare --mount --propagation private --pid --fork --kill-child -- \
        "$0" _enter "$root" "${binds[@]}" -- "$@"
}

cmd_enter() {
    local root=$1 stage mnt
    shift
    stage=$root.stage  # an empty directory; each namespace mounts its own tmpfs on it
    mkdir -p "$stage"
    mount -t tmpfs -o mode=0755 neuronova-stage "$stage"
    mkdir -p "$stage/upper" "$stage/work" "$stage/root"
    mount -t overlay neuronova-root -o "lowerdir=$root,upperdir=$stage/upper,workdir=$stage/work" "$stage/root"
    mnt=$stage/root
    mount -t proc proc "$mnt/proc"
    mount -t tmpfs -o mode=1777 tmpfs "$mnt/tmp"
    mount -t tmpfs -o mode=0755 tmpfs "$mnt/dev"
    local dev
    for dev in null zero full random urandom; do
        touch "$mnt/dev/$dev"
        mount --bind "/dev/$dev" "$mnt/dev/$dev"
    done
    mkdir -p "$mnt/dev/shm" && mount -t tmpfs -o mode=1777 tmpfs "$mnt/dev/shm"
    mount --bind -o ro /etc/hosts "$mnt/etc/hosts"
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        if [ -d "$2" ]; then mkdir -p "$mnt$2"; else mkdir -p "$(dirname "$mnt$2")"; touch "$mnt$2"; fi
        mount --rbind "$2" "$mnt$2"
        [ "$1" = --ro-bind ] && mount -o remount,bind,ro "$mnt$2"
        shift 2
    done
    shift
    # The caller's working directory, when it is bound; / otherwise.
    local cwd=/
    [ -d "$mnt$PWD" ] && cwd=$PWD
    exec chroot "$mnt" /usr/bin/env --chdir="$cwd" "$@"
}

case ${1:-} in
    build) cmd_build ;;
    path) cmd_path ;;
    run) shift; cmd_run "$@" ;;
    _enter) shift; cmd_enter "$@" ;;
    key) key ;;
    *) echo "usage: $0 build | path | run [--bind P | --ro-bind P]... -- COMMAND..." >&2; exit 2 ;;
esac
