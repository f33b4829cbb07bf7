#!/usr/bin/env bash
# Install everything, then lint, type-check and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export VIPB_KEYRING=off
# where install.sh could install PostgreSQL (root with apt), its tests must run, not skip
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export VIPB_TEST_REQUIRE_POSTGRES=1
fi
.venv/bin/ruff check .
.venv/bin/mypy domain actors service projections adapters entrypoints scripts
.venv/bin/lint-imports --no-cache  # the layer contract in pyproject.toml (docs/design.md)
# Two workers (pytest-xdist): most tests wait on hosts, leases and Chromium more than they
# compute, so two share the 2-core CI machine well (18 min -> 12 min). VIPB_TEST_WORKERS=0 runs
# in this process (debugging), more workers on a bigger machine; "worksteal" evens out the
# long cluster tests. Every test keeps to its own tmp dirs, ports and PostgreSQL server.
.venv/bin/python -m pytest -q -n "${VIPB_TEST_WORKERS:-2}" --dist worksteal "$@"
