"""Shell completion through the real console script: the bash script it prints, and what
bash gets back for partial words (commands, subcommands, options)."""

from __future__ import annotations

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
