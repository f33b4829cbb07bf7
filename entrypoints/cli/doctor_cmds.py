"""``vipb doctor``: one line per check of this machine and data dir, with a fix for each
problem; exit 1 when a check fails (warnings do not fail)."""

from __future__ import annotations

import typer

from adapters.config_file import config_path
from domain.errors import BaseError
from entrypoints.cli.context import state
from entrypoints.cli.formats import rendering, tabular
from entrypoints.cli.output import emit, exit_not_done, print_hanging

MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


@tabular
def doctor(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Check that vipb can run here: config, data dir modes, master key source, disk space,
    Chromium starts, fonts, egress allowances, check URL, proxies reachable, host socket.

    Example: vipb doctor
    """
    from adapters.doctor import Check, run_checks  # here: every other command starts faster

    cli = state(ctx)
    try:
        loaded = cli.loaded()
    except BaseError as exc:  # later checks need the settings: report this one alone
        checks = [Check("config", "fail", exc.message,
                        f"fix {config_path()} or the variable named")]
    else:
        found = f"{loaded.file}" if loaded.file_found else "defaults and VIPB_* variables"
        checks = [Check("config", "ok", f"settings from {found}"),
                  *run_checks(loaded.settings)]
    if as_json or not rendering().for_people or rendering().columns:
        emit([c.as_dict() for c in checks], as_json)
    else:
        width = max(len(c.name) for c in checks)
        indent = " " * (width + 8)
        for check in checks:
            print_hanging(f"{MARK[check.status]}  {check.name.ljust(width)}  ", check.detail)
            if check.fix and check.status != "ok":
                print_hanging(f"{indent}fix: ", check.fix, rest=f"{indent}     ")
    exit_not_done(all(c.status != "fail" for c in checks))
