"""``vipb serve``: the read-only local dashboard (see ``entrypoints.web.server``)."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import typer

from adapters.config import DataPaths
from entrypoints.cli.context import state
from entrypoints.cli.output import out
from entrypoints.cli.zones import display_zone


def serve(
    ctx: typer.Context,
    bind: str = typer.Option("127.0.0.1", "--bind", help="The address to listen on: "
                             "127.0.0.1, or one address of this machine (never 0.0.0.0)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="The port (0: any free "
                                                                    "one)."),
    token_file: Path | None = typer.Option(None, "--token-file", help="The access token "
                                           "(created 0600 if missing; default "
                                           "DATA_DIR/dashboard.token)."),
    as_json: bool = typer.Option(False, "--json", help="Print the address as JSON."),
) -> None:
    """Serve a read-only dashboard of the views until Ctrl-C or SIGTERM: keywords with
    position, change and sparkline, a page per keyword with its chart and kept results
    pages, creators, alerts, status. It works with or without a running host (on a shared
    PostgreSQL store it shows every host's data). Open the address it prints: it carries the
    access token, kept afterwards in a cookie.

    Example: vipb serve --port 8765
    """
    cli = state(ctx)
    store = cli.store()
    path = (token_file.expanduser() if token_file
            else DataPaths(cli.data_dir).dashboard_token)
    # imported here: the dashboard's server and the service layer are this command's alone
    # (see context.py)
    from entrypoints.web.evidence import kept_page
    from entrypoints.web.server import dashboard_app, serve_dashboard
    from service.metrics import metrics_token

    token = metrics_token(path)
    zone = display_zone()
    server, base = serve_dashboard(
        lambda hosts: dashboard_app(store.connect_read_only, token, hosts, zone,
                                    evidence=lambda task_id: kept_page(store, cli.settings,
                                                                       task_id)),
        bind, port)
    url = f"{base}/?token={token}"
    if as_json:
        out.print(json.dumps({"url": url, "address": base}), markup=False, highlight=False)
    else:
        out.print(f"dashboard: {url}\n(read only; the token is in {path}; Ctrl-C stops)",
                  markup=False, highlight=False)
    stop = threading.Event()

    def stopping(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
