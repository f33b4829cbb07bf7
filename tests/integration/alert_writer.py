"""A writer process for the alert concurrency test: records outcomes that fire a rule, then
closes its runtime (which delivers what is due, if this process holds the courier's lock).

Run as ``python -m tests.integration.alert_writer DATA_DIR KEYWORD COUNT``; prints ``DONE``
after its last outcome is committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.helpers import open_runtime, record_outcome


def main() -> None:
    data_dir, keyword, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    rt = open_runtime(data_dir, alert_retry_initial=0.0, alert_retry_max=0.0)
    try:
        for n in range(count):
            record_outcome(rt, 1 + n % 2, keyword=keyword)  # 1, 2, 1, 2: moves every time
        print("DONE", flush=True)
    finally:
        rt.close()


if __name__ == "__main__":
    main()
