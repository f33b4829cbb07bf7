"""``vipb alert ...``: rules that raise alerts on positions and creators, delivered by a signed
webhook or e-mail; their history; a test; the SMTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import typer

from domain.alert_commands import (
    AddAlertRule,
    AlertHistory,
    ListAlertRules,
    RemoveAlertRule,
    SetMailServer,
    ShowMailServer,
    TestAlert,
)
from entrypoints.cli.context import run_command
from entrypoints.cli.formats import tabular
from entrypoints.cli.output import emit, exit_not_done, said
from entrypoints.cli.secret_input import read_secret_file, read_stdin_secret

app = typer.Typer(help="Alerts on positions and creators, by webhook or e-mail.",
                  no_args_is_help=True)
smtp_app = typer.Typer(help="The SMTP server e-mail alerts go through.", no_args_is_help=True)
app.add_typer(smtp_app, name="smtp")
JSON = typer.Option(False, "--json", help="Print the result as JSON.")
NAME = typer.Argument(..., help="The rule's name.")
KINDS = ("enters-top N, leaves-top N, moves K, stops-ranking, starts-ranking (positions); "
         "unreachable, content-changed (creators); digest (each run of a --schedule)")


def channel_payload(target: str, secret_file: Path | None) -> dict[str, Any]:
    """``email`` or ``webhook_url`` (with its secret) for a target that is an e-mail
    address or an http(s) URL."""
    webhook = target.lower().startswith(("http://", "https://"))
    return {"webhook_url" if webhook else "email": target,
            "secret": read_secret_file(secret_file, "secret")}


def shown_channel(payload: dict[str, Any]) -> str:
    """Where a rule sends, as a sentence ends: an address, or a webhook's host."""
    webhook = payload.get("webhook_url")
    return f"a webhook at {urlsplit(webhook).netloc}" if webhook else str(payload["email"])


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name for the rule (new)."),
    kind: str = typer.Argument(..., help=f"What fires it: {KINDS}."),
    threshold: int | None = typer.Argument(None, help="N (top N) or K (places moved)."),
    domain: str | None = typer.Option(None, "--domain", help="Only this target domain."),
    keyword: str | None = typer.Option(None, "--keyword", help="Only this keyword."),
    engine: str | None = typer.Option(None, "--engine", help="Only this engine."),
    device: str | None = typer.Option(None, "--device", help="Only desktop or mobile."),
    creator: str | None = typer.Option(None, "--creator", help="Only this creator."),
    schedule: str | None = typer.Option(None, "--schedule",
                                        help="digest: the schedule whose runs it sums up."),
    webhook: str | None = typer.Option(None, "--webhook", help="POST alerts to this URL."),
    secret_file: Path | None = typer.Option(
        None, "--secret-file", help="The webhook's signing secret: first line of this file "
        "('-': stdin), 16+ characters."),
    email: str | None = typer.Option(None, "--email", help="Mail alerts to this address."),
    as_json: bool = JSON,
) -> None:
    """Add a rule; a webhook rule needs --secret-file (the receiver checks the signature).
    A digest rule sends the movement summary of each run of its --schedule once the run's
    searches are over (e-mail: a table with sparklines; webhook: the rows as JSON).
    Example: vipb alert add top10 enters-top 10 --domain example.com --email ops@example.com
    """
    payload: dict[str, Any] = {
        "name": name, "kind": kind, "threshold": threshold, "domain": domain,
        "keyword": keyword, "engine": engine, "device": device, "creator": creator,
        "schedule": schedule, "webhook_url": webhook,
        "secret": read_secret_file(secret_file, "secret"), "email": email}
    payload = {k: v for k, v in payload.items() if v is not None}
    ack = run_command(ctx, AddAlertRule, payload)
    emit(ack, as_json, said=f"alert rule {name} added: {kind}"
                            f"{' ' + str(threshold) if threshold else ''}"
                            f"{' of schedule ' + schedule if schedule else ''}, sent to "
                            f"{shown_channel(payload)}")


@app.command("remove")
def remove(ctx: typer.Context, name: str = NAME, as_json: bool = JSON) -> None:
    """Remove a rule: its webhook URL and secret are destroyed; its alerts stay on record.
    Example: vipb alert remove top10
    """
    ack = run_command(ctx, RemoveAlertRule, {"name": name})
    emit(ack, as_json, said=f"alert rule {name} removed (its alerts stay on record)")


@app.command("list")
@tabular
def list_rules(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include removed rules."),
    as_json: bool = JSON,
) -> None:
    """The rules and how many alerts each raised (`--json` or `-c filters,delivered` for
    more). Example: vipb alert list
    """
    rows = run_command(ctx, ListAlertRules, {"include_removed": all_})
    emit(rows, as_json, columns=["name", "kind", "threshold", "target", "alerts"],
         title="alert rules")


@app.command("history")
@tabular
def history(
    ctx: typer.Context,
    rule: str | None = typer.Option(None, "--rule", help="Only this rule's alerts."),
    limit: int = typer.Option(50, "--limit", help="At most this many alerts."),
    as_json: bool = JSON,
) -> None:
    """Alerts raised, newest first, with their delivery state (pending, delivered,
    retrying, failed); `-c message,attempts,last_error` shows why one failed.
    Example: vipb alert history --rule top10
    """
    payload: dict[str, Any] = {"limit": limit}
    if rule is not None:
        payload["rule"] = rule
    rows = run_command(ctx, AlertHistory, payload)
    emit(rows, as_json, columns=["triggered_at", "rule", "state", "message"],
         title="alerts")


@app.command("test")
def test(ctx: typer.Context, name: str = NAME, as_json: bool = JSON) -> None:
    """Send a test alert through a rule's channel now, once; exit 1 if it was not delivered.
    Example: vipb alert test top10
    """
    found = run_command(ctx, TestAlert, {"name": name})
    sentence = (f"test alert delivered to {found['target']} ({found['channel']})"
                if found["delivered"] else
                f"test alert to {found['target']} failed: {found['error']}")
    emit(found, as_json, said=sentence)
    exit_not_done(bool(found["delivered"]))


@smtp_app.command("set")
def smtp_set(
    ctx: typer.Context,
    host: str = typer.Option(..., "--host", help="The SMTP server."),
    sender: str = typer.Option(..., "--from", help="The From address of alert mails."),
    port: int = typer.Option(587, "--port", help="587 for STARTTLS, 465 for TLS."),
    security: str = typer.Option("starttls", "--security", help="starttls or tls."),
    username: str | None = typer.Option(None, "--username", help="Login name."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the login password from stdin."),
    ca_file: Path | None = typer.Option(None, "--ca-file",
                                        help="PEM CAs to trust instead of the system's."),
    as_json: bool = JSON,
) -> None:
    """Set the SMTP server (a password comes from stdin and is stored encrypted).
    Example: vipb alert smtp set --host smtp.example.com --from vipb@example.com
    """
    payload: dict[str, Any] = {
        "host": host, "port": port, "security": security, "username": username,
        "password": read_stdin_secret(password_stdin, "password", "--password-stdin"),
        "sender": sender,
        "ca_file": str(ca_file.expanduser().resolve()) if ca_file is not None else None}
    ack = run_command(ctx, SetMailServer, {k: v for k, v in payload.items() if v is not None})
    emit(ack, as_json, said=said(ack, f"mail server set: {host}:{port} ({security})",
                                 "mail server: no change"))


@smtp_app.command("show")
@tabular
def smtp_show(ctx: typer.Context, as_json: bool = JSON) -> None:
    """The SMTP server (the password is never shown). Example: vipb alert smtp show"""
    found = run_command(ctx, ShowMailServer, {})
    if not found["configured"] and not as_json:
        emit(found, as_json, said="no mail server set (vipb alert smtp set --help)")
        return
    emit(found, as_json)
