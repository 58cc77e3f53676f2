#!/usr/bin/env bash
# Runs the TypeScript tests of the two web parts with their own runners (Vitest in spa/, node:test
# in ohif-build/) and prints one count line per part, so `make test` says how many ran. A part
# whose runner reports no test at all is a failure, as pytest's "collected nothing" is.
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1 FORCE_COLOR=0

# Counts from Vitest's summary ("Tests  2 failed | 27 passed (29)") or node:test's TAP footer
# ("# pass 12" / "# fail 0", once per `node --test` run, summed): "<passed> <failed>".
counts() {
    awk '
        /^[[:space:]]*Tests[[:space:]]+[0-9]/ {
            for (i = 2; i <= NF; i++) {
                if ($(i) ~ /^passed/) pass += $(i - 1)
                if ($(i) ~ /^failed/) fail += $(i - 1)
            }
        }
        /^# pass [0-9]+$/ { pass += $3 }
        /^# fail [0-9]+$/ { fail += $3 }
        END { printf "%d %d\n", pass, fail }
    ' "$1"
}

rc=0
summary=()
for part in spa ohif-build; do
    log=$(mktemp)
    if [ ! -d "$part/node_modules" ]; then
        echo "run-ts-tests: $part/node_modules is missing - run scripts/bootstrap.sh test" >&2
        summary+=("$part: not run (no node_modules)")
        rc=1
        continue
    fi
    (cd "$part" && npm test --silent) 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    read -r passed failed < <(counts "$log")
    rm -f "$log"
    if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
        rc=1
    fi
    summary+=("$part: $passed passed, $failed failed (exit $status)")
done
for line in "${summary[@]}"; do
    echo "run-ts-tests: TypeScript $line"
done
exit "$rc"
