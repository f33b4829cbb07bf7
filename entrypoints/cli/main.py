"""Entry point of ``vipb``: the root command, ``init``, and error handling for all commands."""

from __future__ import annotations

import copy
import errno
import logging
import os
import sqlite3
import sys
import time
from pathlib import Path

import typer
from typer.core import TyperGroup

from adapters.config import DataPaths
from adapters.config_file import load_settings
from adapters.malloc import limit_arenas
from adapters.store import storage_problem
from domain.errors import BaseError
from entrypoints.cli import (
    alert_cmds,
    audit_cmds,
    backup_cmds,
    browser_cmds,
    config_cmds,
    creator_cmds,
    doctor_cmds,
    events_cmds,
    host_cmds,
    projection_cmds,
    proxy_cmds,
    query_cmds,
    rank_cmds,
    report_cmds,
    rotation_cmds,
    serve_cmds,
)
from entrypoints.cli.completion import add_completers
from entrypoints.cli.context import CliState, state
from entrypoints.cli.help_layout import tidy_help
from entrypoints.cli.output import emit, err, fail
from entrypoints.cli.zones import named_zone, use_zone

try:  # typer >= 0.26 vendors click and exports no usage-error class of its own
    from typer._click import Context
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - typer on the public click package
    from click import Context  # type: ignore[assignment]
    from click.exceptions import NoArgsIsHelpError, UsageError  # type: ignore[assignment]


INTERRUPTED = "interrupted (what was done before it is on record)"


class _Root(TyperGroup):
    """The root command. A Ctrl-C that the command running does not answer itself ends it
    with one line and exit code 130, whichever command it is (typer turns an interrupt into
    a silent exit 130; ``rank run`` answers its own, naming the searches it queued)."""

    def invoke(self, ctx: Context) -> object:
        """Run the command line's command."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            fail(INTERRUPTED)
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Root,
    name="vipb",
    help="vipb: proxy pools, real-Chromium tabs and rank tracking, every action on record.\n\n"
    "Example: vipb init && vipb proxy add socks5://user:pass@10.0.0.7:1080",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(proxy_cmds.app, name="proxy")
app.add_typer(rotation_cmds.app, name="rotation")
app.add_typer(events_cmds.app, name="events")
app.add_typer(projection_cmds.app, name="projections")
app.add_typer(browser_cmds.tab_app, name="tab")
app.add_typer(browser_cmds.privacy_app, name="privacy")
app.add_typer(browser_cmds.session_app, name="session")
app.add_typer(host_cmds.app, name="host")
app.add_typer(audit_cmds.app, name="audit")
app.add_typer(backup_cmds.app, name="backup")
app.add_typer(rank_cmds.app, name="rank")
app.add_typer(rank_cmds.schedule_app, name="schedule")
app.add_typer(config_cmds.app, name="config")
app.add_typer(creator_cmds.app, name="creator")
app.add_typer(alert_cmds.app, name="alert")
events_cmds.app.command("replay")(audit_cmds.replay_cmd)
app.command("status")(host_cmds.status)
events_cmds.app.command("follow")(host_cmds.follow)
app.command("query")(query_cmds.query)
app.command("doctor")(doctor_cmds.doctor)
app.command("serve")(serve_cmds.serve)
rank_cmds.app.command("report")(report_cmds.report)
rank_cmds.app.command("chart")(report_cmds.chart)
rank_cmds.app.command("compare")(report_cmds.compare)


def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version as package_version  # only for --version

        typer.echo(f"vipb {package_version('virtual-ip-browser')}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Path | None = typer.Option(
        None, "--data-dir",
        help="Data directory (else VIPB_DATA_DIR, vipb.toml's data_dir, or the per-user "
             "data dir, e.g. ~/.local/share/vipb).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
    tz: str | None = typer.Option(None, "--tz", help="Show times in this IANA zone (e.g. "
                                                     "Europe/Berlin, UTC); default: the "
                                                     "display_timezone setting, else this "
                                                     "machine's zone."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print vipb's version and exit."),
) -> None:
    """Global options."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:  # an actor's death is reported in one line (and by `vipb status`)
        logging.getLogger("pykka").setLevel(logging.CRITICAL)
    cli_state = CliState(data_dir_flag=data_dir)
    if tz is not None:
        named_zone(tz)  # a bad name is refused before the command runs
    use_zone(lambda: tz or cli_state.settings.display_timezone)
    _STATES.append(cli_state)  # for naming a storage problem after the command failed
    ctx.obj = cli_state
    ctx.call_on_close(cli_state.close)


@app.command("init")
def init(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create the data dir, the master key (if no key source has one) and the databases.

    Safe to run again. Example: vipb --data-dir ./data init
    """
    cli_state = state(ctx)
    root_dir = cli_state.data_dir
    store = cli_state.store()
    # a shared PostgreSQL store takes seconds (schemas, tables, locks): say each stage
    talk = not store.on_files or sys.stderr.isatty()
    started = time.monotonic()

    def step(what: str) -> None:
        if talk:
            err.print(f"init: {what} ({time.monotonic() - started:.1f} s)", markup=False,
                      highlight=False)

    from service.runtime import initialize  # see context.py: the runtime on first use

    master, created = initialize(root_dir, cli_state.settings, step)
    paths = DataPaths(root_dir)
    on_files = store.on_files
    emit(
        {
            "data_dir": str(root_dir),
            "created": created,
            "master_key_source": master.source,
            "event_store": str(paths.events) if on_files else store.describe(),
            "read_models": str(paths.views) if on_files else store.describe(),
        },
        as_json,
    )


def _usage_error(exc: UsageError) -> None:
    """A usage error as one line naming the option and the reason, then exit 2 (no box)."""
    if isinstance(exc, NoArgsIsHelpError) and exc.ctx is not None:
        typer.echo(exc.ctx.get_help(), err=True)  # `vipb proxy` alone: its help, as before
        sys.exit(2)
    where = exc.ctx.command_path if exc.ctx is not None else "vipb"
    message = " ".join(exc.format_message().split())  # click wraps long choices lists
    fail(f"{message} (see `{where} --help`)")
    sys.exit(2)


_STATES: list[CliState] = []
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _storage_problem() -> str | None:
    """A full disk or a read-only file system under the data dir, in words (SQLite calls
    both ``disk I/O error`` or worse); None when it is neither or cannot be told."""
    try:
        root = (_STATES[-1].data_dir if _STATES
                else load_settings({}).settings.data_dir.expanduser())
    except Exception:
        return None
    return storage_problem(root if root.exists() else root.parent)


GLOBAL_FLAGS = ("--verbose", "-v")
GLOBAL_VALUED = ("--data-dir", "--tz")


tidy_help(app)
add_completers(app)  # ids and names complete from the views


def hoist_globals(args: list[str]) -> list[str]:
    """The root's options (``--data-dir DIR``, ``--verbose``) moved before the subcommand
    wherever they were given, so ``vipb proxy list --data-dir ./d`` works as ``vipb
    --data-dir ./d proxy list`` (no subcommand has options of those names); nothing after
    ``--`` is touched."""
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        if arg in GLOBAL_FLAGS or (arg.split("=", 1)[0] in GLOBAL_VALUED and "=" in arg):
            front.append(arg)
        elif arg in GLOBAL_VALUED and index + 1 < len(args):
            front += args[index:index + 2]
            index += 1
        else:
            rest.append(arg)
        index += 1
    return front + rest


def _named(args: list[str]) -> str | None:
    """The group or command a command line names: its first word that is neither an option
    nor a global option's value."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in GLOBAL_VALUED:
            skip = True
        elif arg == "--" or not arg.startswith("-"):
            return None if arg == "--" else arg
    return None


def app_for(args: list[str]) -> typer.Typer:
    """The root with only the group or command ``args`` name. Typer builds click's objects
    for every command of an app on each call (~0.1 s for vipb's ~120 commands, on every
    `vipb` call), and a command line runs one. The whole root for anything else: the root's
    help, shell completion, and a name that is none of them (its error suggests the ones
    meant)."""
    name = _named(args)
    if os.environ.get("_VIPB_COMPLETE") or name is None:
        return app
    groups = [g for g in app.registered_groups if g.name == name]
    commands = [c for c in app.registered_commands if c.name == name]
    if not groups and not commands:
        return app
    trimmed = copy.copy(app)
    trimmed.registered_groups, trimmed.registered_commands = groups, commands
    return trimmed


def run(argv: list[str] | None = None) -> None:
    """Console-script entry: run the app; expected errors become one line and an exit code.

    Usage errors (a bad option value, an unknown option, a missing argument) are one line
    and exit 2, like validation errors: click runs outside its standalone mode so the boxed
    multi-line rendering never reaches the terminal.
    """
    limit_arenas()  # before any thread starts (see adapters.malloc)
    args = hoist_globals(sys.argv[1:] if argv is None else argv)
    argv = args
    if len(args) == 2 and args[0] == "--show-completion" and args[1] in SHELLS:
        # the shell named, not the one typer detects (it took "zsh" for an argument): the
        # completion protocol's own request for that shell's script
        os.environ["_VIPB_COMPLETE"] = f"source_{args[1]}"
        argv = []
    try:
        code = app_for(argv)(args=argv, prog_name="vipb", standalone_mode=False)
    except UsageError as exc:
        _usage_error(exc)
    except typer.Abort:
        fail("aborted")
        sys.exit(1)
    except BaseError as exc:
        fail(exc.message)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        fail(INTERRUPTED)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("VIPB_DEBUG"):
            raise
        storage = isinstance(exc, sqlite3.Error) or (
            isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT))
        problem = _storage_problem() if storage else None
        fail(problem or f"internal error: {type(exc).__name__}: {exc} "
                        "(set VIPB_DEBUG=1 for a traceback)")
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    run()
