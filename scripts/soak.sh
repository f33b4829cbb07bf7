#!/usr/bin/env bash
# Soak: run the host, e2e and projection tests N times in a row beside two CPU-bound
# processes (a busy 2-core CI machine), in as many workers as scripts/test.sh uses
# (VIPB_TEST_WORKERS, default 2), then print "N passed, M failed".
#   bash scripts/soak.sh 10            # logs of failed rounds: .soak/round-K.log
#   SOAK_TESTS="tests/e2e/test_host_cli.py" bash scripts/soak.sh 3
# Long-run mode: a host searching on a schedule every minute for hours, its RSS, open files,
# threads and Chromium processes sampled every minute (scripts/longrun.py; beside the two
# CPU-bound processes unless SOAK_SPINNERS=0):
#   bash scripts/soak.sh --long 120    # minutes; CSV in .soak/long.csv, summary at the end
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || exit 1
export VIPB_KEYRING=off
if [ "${1:-}" = "--long" ]; then
    spinners=()
    if [ "${SOAK_SPINNERS:-1}" != 0 ]; then
        for _ in 1 2; do
            .venv/bin/python -c 'while True: pass' &
            spinners+=("$!")
        done
    fi
    trap '[ ${#spinners[@]} -eq 0 ] || kill "${spinners[@]}" 2>/dev/null' EXIT
    mkdir -p .soak
    .venv/bin/python -m scripts.longrun --minutes "${2:-120}" --out .soak/long.csv
    exit $?
fi
rounds="${1:-10}"
tests=${SOAK_TESTS:-"tests/e2e tests/integration/test_host.py tests/integration/test_projections.py
    tests/integration/test_stress.py tests/integration/test_dispatcher_concurrency.py
    tests/integration/test_schedules.py tests/integration/test_alerts.py
    tests/integration/test_alert_mail.py tests/integration/test_shared_state.py
    tests/integration/test_committer.py tests/browser/test_creator_claims.py
    tests/browser/test_rank_places.py tests/integration/test_evidence_store.py
    tests/browser/test_tab_uploads.py tests/integration/test_local_proxy.py"}
mkdir -p .soak
spinners=()
for _ in 1 2; do
    .venv/bin/python -c 'while True: pass' &
    spinners+=("$!")
done
trap 'kill "${spinners[@]}" 2>/dev/null' EXIT
passed=0
failed=0
for round in $(seq 1 "$rounds"); do
    log=".soak/round-$round.log"
    # shellcheck disable=SC2086 - the test list is split on purpose
    if .venv/bin/python -m pytest -q -p no:cacheprovider -n "${VIPB_TEST_WORKERS:-2}" \
            --dist worksteal $tests >"$log" 2>&1; then
        passed=$((passed + 1))
        rm -f "$log"
        echo "round $round/$rounds: passed" >&2
    else
        failed=$((failed + 1))
        echo "round $round/$rounds: FAILED ($(tail -1 "$log")); log: $log" >&2
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
