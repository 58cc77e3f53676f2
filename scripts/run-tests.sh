#!/usr/bin/env bash
# Runs every test once: the TypeScript tests of spa/ and ohif-build/ (scripts/run-ts-tests.sh, which
# prints their counts), then the whole pytest suite (unit, integration, e2e, security: markers come
# from the folder, nothing is skipped silently). The TypeScript counts are repeated at the end,
# next to pytest's summary. pytest's exit code 5 means no test was collected: for this project
# that is a broken collection, never a success, so it is reported and turned into a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
run_pytest() {
    .venv/bin/python -m pytest "$@"
    local rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "run-tests: pytest collected no tests - treating as a failure" >&2
        return 1
    fi
    return "$rc"
}

ts_log=$(mktemp)
trap 'rm -f "$ts_log"' EXIT
scripts/run-ts-tests.sh 2>&1 | tee "$ts_log"
rc_ts=${PIPESTATUS[0]}

# The portal's unit tests on MariaDB next (a fresh test_nn_* database, dropped after; the MariaDB
# integration chain is part of the full run), then everything once on the defaults (SQLite), so
# the last summary pytest prints is the whole suite's.
PORTAL_TEST_DATABASE_URL=${PORTAL_TEST_DATABASE_URL:-mysql://root@127.0.0.1:3306/test} \
    run_pytest tests/unit/portal -q -p no:cacheprovider
rc_mysql=$?
# --durations: the 25 slowest steps are printed, so the suite's time (CI aims at < 30 min on 2
# cores) is watched from every run's log rather than guessed.
run_pytest --durations=25 "$@"
rc=$?
grep '^run-ts-tests: ' "$ts_log"
echo "run-tests: TypeScript exit $rc_ts, portal unit tests on MariaDB exit $rc_mysql, full suite exit $rc"
[ "$rc" -eq 0 ] && [ "$rc_mysql" -eq 0 ] && [ "$rc_ts" -eq 0 ]
