#!/usr/bin/env bash
# Build the HTJ2K codec plugin inside a Debian root that holds g++, make, orthanc-dev and
# libopenjph-dev (the Orthanc runtime root), so the .so links that root's OpenJPH and libstdc++.
#
#   orthanc-plugins/htj2k-codec/build.sh ROOT [OUT [plugin] [tool] [asan]]
#
# ROOT: the root directory; OUT: where the outputs go (created; default: build/ next to this
# script, where the stack loads the plugin from). Targets (default: plugin):
#   plugin  OUT/libNeuroNovaHtj2k.so   the Orthanc plugin
#   tool    OUT/htj2k-tool             the codec's command line (tests)
#   asan    OUT/htj2k-tool-asan        the same with AddressSanitizer + UBSan (fuzz test)
# A target is rebuilt only when its key changes: the sources here, this script, the target and
# the versions of the root's compiler, OpenJPH, Orthanc SDK and libstdc++. Outputs replace the
# old ones by rename, so an Orthanc that has the old .so loaded is never disturbed. Prints each
# output's path. Runs as root (it chroots); the root itself is never written to.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
say() { printf '[htj2k-codec] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ $# -ge 1 ] || die "usage: $0 ROOT [OUT [plugin] [tool] [asan]]"
root=$(realpath "$1")
out=$(realpath -m "${2:-$here/build}")
shift $(($# >= 2 ? 2 : 1))
targets=("${@:-plugin}")

for needed in usr/bin/g++ usr/bin/make usr/include/orthanc/OrthancCPlugin.h \
    usr/include/openjph/ojph_codestream.h; do
    [ -e "$root/$needed" ] || die "$root lacks /$needed (g++, make, orthanc-dev, libopenjph-dev)"
done
[ -e "$root/usr/include/dcmtk/dcmdata/dccodec.h" ] ||
    say "WARNING: no libdcmtk-dev in $root: no DCMTK decoder, /numpy cannot decode HTJ2K"

file_of() {
    case $1 in
        plugin) echo libNeuroNovaHtj2k.so ;;
        tool) echo htj2k-tool ;;
        asan) echo htj2k-tool-asan ;;
        *) die "unknown target $1" ;;
    esac
}

# The root's versions of what goes into the binary, read from its dpkg database (no chroot).
root_versions() {
    local wanted='^(g[+][+]|gcc|libopenjph-dev|orthanc-dev|libdcmtk-dev|libstdc[+][+]6|libc6-dev)$'
    awk -v wanted="$wanted" \
        '/^Package: /{p=$2} /^Version: /{v=$2} /^$/{if (p ~ wanted) print p"="v}' \
        "$root/var/lib/dpkg/status" | sort
}

key_of() {
    {
        echo "$1"
        root_versions
        cd "$here" && sha256sum Makefile build.sh src/*
    } | sha256sum | cut -c1-16
}

mkdir -p "$out"
exec 9>"$out/.htj2k-codec.lock"
flock 9  # one build per output folder at a time (bootstrap and parallel tests)

todo=()
for t in "${targets[@]}"; do
    f=$(file_of "$t")
    if [ -f "$out/$f" ] && [ "$(cat "$out/.$f.key" 2>/dev/null)" = "$(key_of "$t")" ]; then
        say "$f: up to date"
    else
        todo+=("$t")
    fi
done

if [ ${#todo[@]} -gt 0 ]; then
    make_targets=()
    for t in "${todo[@]}"; do make_targets+=("/tmp/out/$(file_of "$t")"); done
    stage=$(mktemp -d "$out/.build.XXXXXX")
    trap 'rm -rf "$stage"' EXIT
    say "building ${todo[*]} in $root"
    started=$(date +%s%N)
    # A private mount namespace: the sources (read-only) and the staging folder are bound under
    # a tmpfs on the root's /tmp that only this command sees; nothing remains mounted afterwards.
    unshare --mount --propagation private -- /bin/sh -ec '
        root=$1 src=$2 stage=$3; shift 3
        mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
        mkdir "$root/tmp/src" "$root/tmp/out"
        mount --bind "$src" "$root/tmp/src" && mount -o remount,bind,ro "$root/tmp/src"
        mount --bind "$stage" "$root/tmp/out"
        mount --bind /dev/null "$root/dev/null"
        exec chroot "$root" /usr/bin/make -s -C /tmp/src -j2 OUT=/tmp/out "$@"
    ' sh "$root" "$here" "$stage" "${make_targets[@]}" >&2 || die "build failed"
    for t in "${todo[@]}"; do
        f=$(file_of "$t")
        mv -f "$stage/$f" "$out/$f"
        key_of "$t" >"$out/.$f.key"
    done
    say "built in $(( ($(date +%s%N) - started) / 1000000 )) ms"
fi

for t in "${targets[@]}"; do echo "$out/$(file_of "$t")"; done
