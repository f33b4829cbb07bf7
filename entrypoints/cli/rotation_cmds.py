"""``vipb rotation ...``: choose and show the rotation strategy."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import typer

from domain.commands import GetRotation, SelectProxy, SetRotation
from domain.errors import ValidationError
from domain.parsing import parse_command
from domain.rotation import StrategyName
from entrypoints.cli.context import state
from entrypoints.cli.formats import tabular
from entrypoints.cli.output import emit, out, print_json

app = typer.Typer(help="Choose how proxies are picked.", no_args_is_help=True)


def parse_param(text: str) -> tuple[str, Any]:
    """``k=v``: v as JSON when it parses (numbers, booleans, lists), a comma list, or text."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValidationError(f"{text!r} is not key=value", field="param")
    try:
        value: Any = orjson.loads(raw)  # a depth limit, where json.loads would recurse
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise ValidationError(f"{key.strip()} is nested too deeply", field="param") \
                from None
        value = [v.strip() for v in raw.split(",")] if "," in raw else raw
    return key.strip(), value


@app.command("set")
def set_(
    ctx: typer.Context,
    strategy: str = typer.Argument(
        ..., help="One of: " + ", ".join(s.value for s in StrategyName)),
    param: list[str] = typer.Option([], "--param", "-p", help="k=v; repeat for several."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Set the rotation strategy and its parameters.

    Example: vipb rotation set sticky_session --param ttl_seconds=900
    """
    params = dict(parse_param(p) for p in param)
    command = parse_command(SetRotation, {"strategy": strategy, "params": params})
    ack = state(ctx).commands().execute(command)
    if as_json:
        print_json(ack)
    elif ack.changed:
        given = ", ".join(f"{k}={v}" for k, v in command.params.items() if v is not None)
        out.print(f"rotation strategy set to {command.strategy.value}"
                  f"{f' ({given})' if given else ''}", markup=False)
    else:
        out.print("rotation unchanged (same strategy and parameters)", markup=False)


@app.command("pick")
def pick(
    ctx: typer.Context,
    url: str | None = typer.Option(None, help="The request's URL."),
    domain: str | None = typer.Option(None, help="The request's domain."),
    country: str | None = typer.Option(None, help="Wanted exit country, e.g. DE."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Try the rotation: pick a proxy for a request as a tab would (recorded, not used).

    Example: vipb rotation pick --domain shop.example.com --country DE
    """
    fields = {k: v for k, v in {"url": url, "domain": domain, "country": country}.items()
              if v is not None}
    selection = state(ctx).commands().execute(parse_command(SelectProxy, fields))
    emit(dataclasses.asdict(selection), as_json)


@app.command("show")
@tabular
def show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Show the current rotation strategy.

    Example: vipb rotation show --json
    """
    emit(state(ctx).commands().execute(parse_command(GetRotation, {})), as_json)
