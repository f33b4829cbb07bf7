"""Shell completion through the real console script: the bash script it prints, and what
bash gets back for partial words (commands, subcommands, options)."""

from __future__ import annotations

import re

from tests.helpers import Cli


def _complete(cli: Cli, line: str) -> list[str]:
    words = line.split(" ")
    result = cli(COMP_WORDS=line, COMP_CWORD=str(len(words) - 1), _VIPB_COMPLETE="complete_bash")
    assert result.code == 0, result.err
    return result.out.split()


def test_bash_completion_script_and_answers(cli: Cli) -> None:
    # the shell is named: detection walks the process tree, which under CI may hold none
    script = cli("--show-completion", "bash", _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    assert script.code == 0
    assert "complete -o default -F _vipb_completion vipb" in script.out
    assert _complete(cli, "vipb pro") == ["proxy", "projections"]
    assert _complete(cli, "vipb proxy li") == ["list"]
    assert _complete(cli, "vipb doc") == ["doctor"]
    assert "--json" in _complete(cli, "vipb proxy list --")


def test_the_named_shells_script_is_printed(cli: Cli) -> None:
    """Issue 32, point 5: `--show-completion zsh` and `fish` printed the bash script."""
    zsh = cli("--show-completion", "zsh")
    assert zsh.code == 0 and "#compdef vipb" in zsh.out and "COMPREPLY" not in zsh.out
    fish = cli("--show-completion", "fish")
    assert fish.code == 0 and fish.out.startswith("complete --command vipb")
    bash = cli("--show-completion", "bash")
    assert bash.code == 0 and "complete -o default -F _vipb_completion vipb" in bash.out


def _zsh(cli: Cli, line: str) -> dict[str, str]:
    """What zsh gets for ``line``: {value: description}."""
    result = cli(_TYPER_COMPLETE_ARGS=line, _VIPB_COMPLETE="complete_zsh")
    assert result.code == 0, result.err
    pairs = re.findall(r'"((?:[^"\\]|\\.)*)":"((?:[^"\\]|\\.)*)"', result.out)
    return {value.replace("\\\\", "\\"): about for value, about in pairs}


def _fish(cli: Cli, line: str) -> list[str]:
    result = cli(_TYPER_COMPLETE_ARGS=line, _VIPB_COMPLETE="complete_fish",
                 _TYPER_COMPLETE_FISH_ACTION="get-args")
    assert result.code == 0, result.err
    return [row.split("\t")[0] for row in result.out.splitlines() if row]


def test_ids_and_names_complete_from_the_views(cli: Cli) -> None:
    """Issue 32, point 5: ids, creator, profile, schedule and engine names were not
    completed. They come from the data dir's views (the one `--data-dir` names, too), each
    with what it is, in bash, zsh and fish; a new name is never completed."""
    assert cli("init").code == 0
    proxy = cli("proxy", "add", "http://127.0.0.1:3128", "--label", "berlin",
                "--json").json()["id"]
    assert cli("privacy", "create", "berlin", "--os", "windows").code == 0
    assert cli("creator", "add", "jane", "https://example.com/@jane").code == 0
    assert cli("rank", "keyword", "add", "espresso grinder").code == 0
    assert cli("schedule", "add", "nightly", "--cron", "0 3 * * *", "--timezone",
               "Europe/Berlin", "--keyword", "espresso grinder").code == 0
    offered = _zsh(cli, "vipb tab visit https://example.com --proxy ")
    assert set(offered) == {"auto", "direct", proxy}
    assert offered[proxy] == "127.0.0.1\\\\:3128 berlin unknown"  # host:port label status
    assert _complete(cli, f"vipb proxy show {proxy[:4]}") == [proxy]
    assert _fish(cli, "vipb privacy remove b") == ["berlin"]
    assert _fish(cli, "vipb creator check ") == ["jane"]
    assert _fish(cli, "vipb schedule pause n") == ["nightly"]
    assert {"bing", "google", "duckduckgo"} <= set(_fish(cli, "vipb rank run --engine "))
    assert "alert_rules" in _fish(cli, "vipb query al")
    assert _fish(cli, "vipb creator add ") == []  # a new name: anything goes
    assert _fish(cli, "vipb privacy create ") == []
    elsewhere = cli("--data-dir", "/nonexistent/vipb", "privacy", "list")
    assert elsewhere.code != 0
    assert _fish(cli, "vipb --data-dir /nonexistent/vipb privacy remove ") == []
