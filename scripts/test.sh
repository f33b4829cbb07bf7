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
.venv/bin/mypy domain actors service projections adapters scripts
.venv/bin/python -m pytest -q "$@"
