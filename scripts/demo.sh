#!/usr/bin/env bash
# Install everything, then run a demo workload on a fresh data dir (embedded SQLite):
# import proxies, pick a rotation strategy, update and remove (crypto-shred) one, then audit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export VIPB_DATA_DIR="${VIPB_DATA_DIR:-$(mktemp -d)/vipb-demo}"
export VIPB_KEYRING="${VIPB_KEYRING:-off}"
exec .venv/bin/python scripts/demo.py
