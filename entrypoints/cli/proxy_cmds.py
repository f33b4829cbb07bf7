"""``vipb proxy ...``: add, list, show, update, remove, import."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import typer

from domain.commands import (
    MAX_BATCH,
    AddProxy,
    GetProxy,
    ImportProxies,
    ListProxies,
    RemoveProxies,
    RemoveProxy,
    UpdateProxies,
    UpdateProxy,
    ValidateProxy,
)
from domain.errors import ValidationError
from domain.parsing import parse_command
from domain.proxy_lines import parse_proxy_line, screen_lines
from entrypoints.cli.batches import execute_patiently, read_input
from entrypoints.cli.context import state
from entrypoints.cli.formats import tabular
from entrypoints.cli.ids import resolve
from entrypoints.cli.output import emit, err, out, print_json, with_progress
from entrypoints.cli.secret_input import read_stdin_secret

app = typer.Typer(help="Manage the proxy pool.", no_args_is_help=True)

LIST_COLUMNS = ["id", "protocol", "host", "port", "country", "label", "status"]
JSON = typer.Option(False, "--json", help="Print the result as JSON.")


def _stdin_password(enabled: bool) -> str | None:
    return read_stdin_secret(enabled, "password", "--password-stdin")


def _optional(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != ()}


def _parse_url(url: str) -> dict[str, Any]:
    try:
        return parse_proxy_line(url)
    except ValueError as exc:
        raise ValidationError(str(exc), field="url") from None


@app.command("add")
def add(
    ctx: typer.Context,
    url: str | None = typer.Argument(None, help="Proxy URL, e.g. socks5://user:pass@host:1080"),
    protocol: str | None = typer.Option(None, help="http, https, socks4 or socks5."),
    host: str | None = typer.Option(None, help="Host name or IP address."),
    port: int | None = typer.Option(None, help="Port, 1..65535."),
    username: str | None = typer.Option(None, help="Username for proxy authentication."),
    password: str | None = typer.Option(None, help="Password (prefer --password-stdin)."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from the first stdin line."),
    label: str | None = typer.Option(None, help="A short label."),
    country: str | None = typer.Option(None, help="Two-letter exit country, e.g. DE."),
    region: str | None = typer.Option(None, help="Your region label, e.g. eu-west."),
    weight: int | None = typer.Option(None, help="Weight for weighted rotation (1..1000)."),
    max_concurrency: int | None = typer.Option(None, help="Concurrent uses allowed (1..1000)."),
    tag: list[str] = typer.Option([], "--tag", help="A tag; repeat for several."),
    as_json: bool = JSON,
) -> None:
    """Add a proxy. Credentials are encrypted with a key of the proxy's own.

    Example: vipb proxy add socks5://alice:s3cret@203.0.113.7:1080 --country DE --tag fast
    """
    fields: dict[str, Any] = _parse_url(url) if url else {}
    fields.update(_optional(
        protocol=protocol, host=host, port=port, username=username,
        password=_stdin_password(password_stdin) or password, label=label,
        country=country, region=region, weight=weight, max_concurrency=max_concurrency,
        tags=tuple(tag),
    ))
    command = parse_command(AddProxy, fields)
    ack = state(ctx).commands().execute(command)
    if as_json:
        print_json(ack)
    else:
        out.print(f"added proxy {ack.id} ({command.endpoint()})", markup=False)


@app.command("list")
@tabular
def list_(
    ctx: typer.Context,
    protocol: str | None = typer.Option(None, help="Only this protocol."),
    status: str | None = typer.Option(None, help="Only this status (unknown, active, ...)."),
    country: str | None = typer.Option(None, help="Only this country."),
    with_tag: str | None = typer.Option(None, "--with-tag", help="Only those with this tag."),
    limit: int = typer.Option(1000, help="At most this many rows."),
    as_json: bool = JSON,
) -> None:
    """List proxies (never shows credentials).

    Example: vipb proxy list --protocol socks5 --json
    """
    command = parse_command(ListProxies, _optional(
        protocol=protocol, status=status, country=country, tag=with_tag, limit=limit))
    rows = state(ctx).commands().execute(command)
    emit(rows, as_json, LIST_COLUMNS, title="proxies")


@app.command("show")
@tabular
def show(
    ctx: typer.Context,
    proxy_id: str = typer.Argument(..., help="Proxy id or a unique prefix of it."),
    as_json: bool = JSON,
) -> None:
    """Show one proxy.

    Example: vipb proxy show 3f2a
    """
    row = state(ctx).commands().execute(parse_command(GetProxy, {"proxy_id": proxy_id}))
    emit(row, as_json)


STATUS_FILTER = typer.Option(None, "--status", help="Every proxy with this status (failed, "
                                                    "active, unknown, ...).")
TAG_FILTER = typer.Option(None, "--with-tag", help="Every proxy carrying this tag.")


def _chosen(ctx: typer.Context, refs: list[str], status: str | None,
            tag: str | None) -> list[str]:
    """The full ids of the proxies named (ids or prefixes), or of those the filters match;
    never both (which would be ambiguous)."""
    if refs and (status or tag):
        raise ValidationError("give proxy ids or --status/--with-tag, not both",
                              field="proxy_id")
    if refs:
        return list(dict.fromkeys(resolve(ctx, "proxy", ref) for ref in refs))
    if not (status or tag):
        raise ValidationError("name the proxies: ids (or prefixes), --status or --with-tag",
                              field="proxy_id")
    rows = state(ctx).commands().execute(parse_command(ListProxies, _optional(
        status=status, tag=tag, limit=100_000)))
    return [row.id for row in rows]


def _batched(ctx: typer.Context, ids: list[str], make: Any) -> dict[str, list[Any]]:
    """Run ``make(part)`` for each part of ``ids`` (the commands' batch limit) and merge the
    replies' lists."""
    commands = state(ctx).commands()
    merged: dict[str, list[Any]] = {}
    for start in range(0, len(ids), MAX_BATCH):
        reply = execute_patiently(commands, make(tuple(ids[start:start + MAX_BATCH])))
        for key, values in reply.items():
            merged.setdefault(key, []).extend(values)
    return merged


def _report_batch(result: dict[str, list[Any]], as_json: bool, summary: str) -> None:
    """Errors one per line on stderr, then ``summary``; exit 1 when some failed."""
    if as_json:
        print_json(result)
    else:
        for item in result["errors"]:
            err.print(f"proxy {item['proxy_id']}: {item['error']}", markup=False,
                      highlight=False)
        out.print(summary, markup=False, highlight=False)
    if result["errors"]:
        raise typer.Exit(1)


@app.command("update")
def update(
    ctx: typer.Context,
    proxy_ids: list[str] = typer.Argument(None, help="Proxy ids or unique prefixes."),
    status: str | None = STATUS_FILTER,
    with_tag: str | None = TAG_FILTER,
    protocol: str | None = typer.Option(None, help="New protocol."),
    host: str | None = typer.Option(None, help="New host."),
    port: int | None = typer.Option(None, help="New port."),
    username: str | None = typer.Option(None, help="New username."),
    password: str | None = typer.Option(None, help="New password (prefer --password-stdin)."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the new password from stdin."),
    clear_credentials: bool = typer.Option(False, "--clear-credentials",
                                           help="Remove username and password."),
    label: str | None = typer.Option(None, help="New label."),
    country: str | None = typer.Option(None, help="New country."),
    region: str | None = typer.Option(None, help="New region label."),
    weight: int | None = typer.Option(None, help="New weight."),
    max_concurrency: int | None = typer.Option(None, help="New concurrency limit."),
    tag: list[str] = typer.Option([], "--tag", help="Replace the tags; repeat for several."),
    as_json: bool = JSON,
) -> None:
    """Change fields of a proxy; fields not given stay as they are. Several proxies (ids,
    or --status/--with-tag) take the fields they may share: label, country, region,
    weight, concurrency, tags.

    Example: vipb proxy update 3f2a --port 1081 --country NL
    Example: vipb proxy update --with-tag berlin --country DE --weight 5
    """
    fields = _optional(
        protocol=protocol, host=host, port=port, username=username,
        password=_stdin_password(password_stdin) or password, label=label,
        country=country, region=region, weight=weight, max_concurrency=max_concurrency,
        tags=tuple(tag),
    )
    if clear_credentials:
        fields["clear_credentials"] = True
    ids = _chosen(ctx, proxy_ids or [], status, with_tag)
    if len(proxy_ids or []) != 1:
        if not ids:
            out.print("no proxy matches: nothing to update", markup=False)
            return
        parse_command(UpdateProxies, {**fields, "proxy_ids": ids[:1]})  # refuse before any
        done = _batched(ctx, ids, lambda part: parse_command(
            UpdateProxies, {**fields, "proxy_ids": part}))
        _report_batch(done, as_json, f"updated {len(done['updated'])} proxies, "
                                     f"{len(done['unchanged'])} unchanged, "
                                     f"{len(done['errors'])} failed")
        return
    fields["proxy_id"] = ids[0]
    ack = state(ctx).commands().execute(parse_command(UpdateProxy, fields))
    if as_json:
        print_json(ack)
    else:
        out.print(f"updated proxy {ack.id}" if ack.changed else f"proxy {ack.id}: no change",
                  markup=False)


@app.command("remove")
def remove(
    ctx: typer.Context,
    proxy_ids: list[str] = typer.Argument(None, help="Proxy ids or unique prefixes."),
    status: str | None = STATUS_FILTER,
    with_tag: str | None = TAG_FILTER,
    yes: bool = typer.Option(False, "--yes", help="Remove what --status/--with-tag match "
                                                  "(without it: say how many, remove none)."),
    as_json: bool = JSON,
) -> None:
    """Remove proxies and destroy their data keys: their credentials become unreadable for
    good. Several ids at once, or every proxy with a status or tag (with --yes).

    Example: vipb proxy remove 3f2a
    Example: vipb proxy remove --status failed --yes
    """
    ids = _chosen(ctx, proxy_ids or [], status, with_tag)
    if len(proxy_ids or []) != 1:
        if not ids:
            out.print("no proxy matches: nothing removed", markup=False)
            return
        if not proxy_ids and not yes:
            raise ValidationError(f"{len(ids)} proxies match; add --yes to remove them "
                                  "(their credentials are shredded for good)", field="yes")
        done = _batched(ctx, ids, lambda part: parse_command(
            RemoveProxies, {"proxy_ids": part}))
        _report_batch(done, as_json, f"removed {len(done['removed'])} proxies (credentials "
                                     f"shredded), {len(done['errors'])} failed")
        return
    ack = state(ctx).commands().execute(parse_command(RemoveProxy, {"proxy_id": ids[0]}))
    if as_json:
        print_json(ack)
    else:
        out.print(f"removed proxy {ack.id}; its credentials were shredded", markup=False)


VALIDATE_COLUMNS = ["id", "endpoint", "status", "latency_ms", "failure", "exit_ip",
                    "exit_country"]


@app.command("validate")
@tabular
def validate(
    ctx: typer.Context,
    proxy_id: str | None = typer.Argument(None, help="Proxy id or unique prefix."),
    all_: bool = typer.Option(False, "--all", help="Validate every proxy."),
    check_url: str | None = typer.Option(None, help="URL to fetch through each proxy "
                                                     "(default: VIPB_CHECK_URL)."),
    samples: int = typer.Option(3, help="Fetches per proxy; latency is their median."),
    timeout: float = typer.Option(10.0, help="Seconds per fetch."),
    concurrency: int = typer.Option(50, help="Proxies checked at once."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any proxy failed."),
    as_json: bool = JSON,
) -> None:
    """Check proxies through a real request: latency, auth, exit IP, anonymity. Counts
    results as they arrive, then ends with a summary (active, failed by reason).

    Exit code 0 when the proxies were checked (a dead proxy is a result), 1 when the check
    URL itself failed (nothing is recorded then), or with --strict when any proxy failed.

    Example: vipb proxy validate --all --check-url http://127.0.0.1:8000/get
    """
    fields: dict[str, Any] = _optional(check_url=check_url, samples=samples, timeout=timeout,
                                       concurrency=concurrency)
    if proxy_id is not None:
        fields["proxy_id"] = resolve(ctx, "proxy", proxy_id)
    fields["all"] = all_
    command = parse_command(ValidateProxy, fields)
    commands = state(ctx).commands()
    results = with_progress("validating",
                            lambda report: commands.execute(command, progress=report), as_json)
    emit(results, as_json, VALIDATE_COLUMNS, title="validation")
    if not as_json:
        out.print(validation_summary(results), markup=False, highlight=False)
    if strict and any(r.status != "active" for r in results):
        raise typer.Exit(1)


def validation_summary(results: list[Any]) -> str:
    """``validated 20 proxies: 12 active, 8 failed (5 timeout, 3 refused)``."""
    failed = Counter(r.failure or r.status for r in results if r.status != "active")
    text = (f"validated {len(results)} proxies: "
            f"{sum(1 for r in results if r.status == 'active')} active, "
            f"{sum(failed.values())} failed")
    if failed:
        text += " (" + ", ".join(f"{n} {why}" for why, n in failed.most_common()) + ")"
    return text


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Text file, one proxy per line ('-' for stdin)."),
    protocol: str = typer.Option("http", help="Protocol for lines without a scheme."),
    upsert: bool = typer.Option(False, "--upsert",
                                help="A line naming a proxy already in the pool (protocol, "
                                     "host, port and username) updates its password "
                                     "instead of failing."),
    as_json: bool = JSON,
) -> None:
    """Import proxies: URL, host:port or host:port:user:pass lines; '#' lines are comments.

    One proxy per protocol, host, port and username: a gateway that pins sessions by
    username (user-session-1, user-session-2) gives one proxy per username. Bad lines are
    reported with their line number and the rest is imported. Exit code 0 when every line
    was imported (or updated), 1 when some failed.

    Example: vipb proxy import proxies.txt --protocol socks5
    """
    raw = read_input(file, sys.stdin)
    lines, errors = screen_lines(raw)  # undecodable or overlong lines: errors of their own
    commands = state(ctx).commands()
    imported: list[str] = []
    updated: list[str] = []
    offset = 0
    for chunk in _chunks(lines):
        command = parse_command(ImportProxies, {"lines": chunk, "protocol": protocol,
                                                "upsert": upsert})
        result = execute_patiently(commands, command)  # a big file through a running host
        imported += result["imported"]
        updated += result["updated"]
        errors += [{**e, "line": e["line"] + offset} for e in result["errors"]]
        offset += len(chunk)
    errors.sort(key=lambda e: int(e["line"]))
    if as_json:
        print_json({"imported": imported, "updated": updated, "errors": errors})
    else:
        for item in errors:
            err.print(f"line {item['line']}: {item['error']}", markup=False, highlight=False)
        out.print(f"imported {len(imported)} proxies, updated {len(updated)}, "
                  f"{len(errors)} lines failed", markup=False)
    if errors:
        raise typer.Exit(1)


IMPORT_CHUNK_BYTES = 128 * 1024  # well under the control socket's message limit


def _chunks(lines: list[str]) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if size + len(line) > IMPORT_CHUNK_BYTES and chunks[-1]:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 8
    return chunks

