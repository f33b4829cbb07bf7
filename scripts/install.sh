#!/usr/bin/env bash
# Install vipb and its test tools into ./.venv (idempotent). Needs only Python >= 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "vipb needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi
# Debian packages: Chromium (tabs; never `playwright install`), the real proxy servers the
# tests run on 127.0.0.1 (microsocks, tinyproxy), and fonts metric-compatible with the common
# Windows and macOS ones (Chromium takes them under those names: Arial, Times New Roman,
# Courier New, Calibri, Cambria), so a profile's fonts measure as present; cairo for PNG charts.
missing=""
for bin in microsocks tinyproxy chromium; do
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing="$missing $bin"
done
for font in "fonts-liberation2:Liberation Sans" "fonts-crosextra-carlito:Carlito" \
            "fonts-crosextra-caladea:Caladea"; do
    fc-list : family 2>/dev/null | grep -qx "${font#*:}" || missing="$missing ${font%%:*}"
done
# cairo renders `vipb rank chart -o chart.png` (Chromium's package depends on it anyway)
ldconfig -p 2>/dev/null | grep -q 'libcairo\.so\.2' || missing="$missing libcairo2"
# PostgreSQL: the tests of several hosts on one store start a throwaway server (initdb)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
then
    missing="$missing postgresql"
fi
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian packages:$missing" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
            >/dev/null
    else
        echo "note: install$missing (Debian: sudo apt-get install$missing) to run every" \
             "proxy, browser, font and PostgreSQL test; those tests are skipped without them" \
             "outside CI" >&2
    fi
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.vipb-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
    # Every dependency at the version CI passed with (constraints.txt; scripts/lock.sh
    # refreshes it), so a release made since cannot change what a clean clone runs.
    # setuptools warns about editable installs at length: nothing to act on here
    PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet -c constraints.txt -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
    .venv/bin/python -c 'import eventsourcing, pykka, typer, entrypoints.cli.main' \
        || { echo "install failed" >&2; exit 1; }
    touch "$stamp"
fi
# Byte-compile our own packages: an editable install leaves them as source, and where
# PYTHONDONTWRITEBYTECODE is set (as in many containers and CI images) Python never caches
# them, so every `vipb` command compiled ~200 modules first (0.5 s of a 2 s command). Up-to-date
# files are skipped; a source changed later is compiled in memory until the next run of this.
.venv/bin/python -m compileall -q -j 0 domain projections adapters actors service entrypoints \
    scripts >/dev/null
