#!/bin/bash
# Render the shared templates (nginx/neuronova.conf.template, the same the native run renders with
# stack/render.py) into /tmp (a tmpfs: the root filesystem is read-only), then run nginx in front.
# Only the ${NN_*} names are replaced, and each must have a value: a blank upstream or root would
# make nginx serve the wrong thing.
set -euo pipefail
: "${ORTHANC_PASSWORD:?set ORTHANC_PASSWORD}"
export NN_ORTHANC_AUTH
NN_ORTHANC_AUTH=$(printf '%s:%s' "${ORTHANC_USERNAME:-orthanc}" "$ORTHANC_PASSWORD" | base64 -w0)
unset ORTHANC_PASSWORD
mkdir -p /tmp/nginx/conf /tmp/nginx/tmp
for template in /etc/neuronova/templates/*.template; do
    names=$( (grep -o '\${NN_[A-Z_]*}' "$template" || true) | sort -u | tr -d '${}')
    for name in $names; do
        [ -n "${!name:-}" ] || { echo "neuronova-nginx: $template needs $name" >&2; exit 1; }
    done
    out=/tmp/nginx/conf/$(basename "$template" .template)
    if [ -n "$names" ]; then
        envsubst "$(printf '${%s} ' $names)" <"$template" >"$out"
    else
        cp "$template" "$out"
    fi
done
exec nginx -c /tmp/nginx/conf/nginx.conf -e stderr -g 'daemon off;'
