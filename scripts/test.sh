#!/usr/bin/env bash
# Install everything, then lint, type-check and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export VIPB_KEYRING=off
.venv/bin/ruff check .
.venv/bin/mypy domain actors service projections adapters scripts
.venv/bin/python -m pytest -q "$@"
