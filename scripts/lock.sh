#!/usr/bin/env bash
# Refresh constraints.txt: resolve pyproject.toml's ranges afresh in a throwaway venv (the
# newest releases the index has) and write every package's version. Run the whole suite
# (bash scripts/test.sh) before committing the result: a new release can change behaviour
# (apify-fingerprint-datapoints 0.16 changed which device a seed draws and turned CI red).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"$PYTHON" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
PYTHONWARNINGS=ignore "$venv/bin/python" -m pip install --quiet '.[test]' 2>&1 \
    | grep -v "^WARNING: Location" || true
{
    echo "# Every package of a test install at the versions CI last passed with (pip constraints)."
    echo "# scripts/install.sh installs with these; pipx and pip installs of the package use the"
    echo "# ranges in pyproject.toml. Refresh on purpose: bash scripts/lock.sh, then the whole suite."
    "$venv/bin/python" -m pip freeze --all --exclude virtual-ip-browser --exclude pip 2>/dev/null \
        | grep -v "^WARNING"
} > constraints.txt
git --no-pager diff --stat -- constraints.txt || true
