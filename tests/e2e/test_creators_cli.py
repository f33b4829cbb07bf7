"""Creator watch's records through the real console script: add, list, show, update, remove
and re-add under the same name; bad input is one line and writes nothing; a new process
finds the creators in the event store."""

from __future__ import annotations

from tests.helpers import Cli


def test_creators_are_added_changed_and_removed_with_clear_refusals(cli: Cli) -> None:
    assert cli("init").code == 0
    added = cli("creator", "add", "Jane", "https://example.com/@jane", "--platform", "blog",
                "--tag", "news,tech", "--priority", "1")
    assert added.code == 0 and added.out == "watching Jane at https://example.com/@jane\n"
    again = cli("creator", "add", "jane", "https://example.org/")
    assert again.code == 2 and again.err.startswith("vipb: error: name: a creator named 'jane'")
    for args, start in [
        (("creator", "add", "x", "javascript:alert(1)"), "url: "),
        (("creator", "add", "x", "https://user:pw@example.com/"), "url: "),
        (("creator", "add", "x", "https://example.com/", "--priority", "9"), "priority: "),
        (("creator", "add", "<b>x</b>", "https://example.com/"), "name: "),
        (("creator", "update", "nobody", "--priority", "2"), "name: no creator named"),
        (("creator", "update", "jane", "--enabled", "maybe"), "enabled: must be on or off"),
    ]:
        result = cli(*args)
        assert result.code == 2 and result.err.startswith("vipb: error: " + start), (args,
                                                                                 result.err)
    [row] = cli("creator", "list", "--json").json()
    assert (row["name"], row["platform"], row["priority"], row["tags"], row["enabled"]) == (
        "Jane", "blog", 1, ["news", "tech"], True)
    assert cli("creator", "update", "JANE", "--enabled", "off").out == "updated creator JANE\n"
    assert cli("creator", "update", "jane", "--enabled", "off").out == \
        "creator jane: no change\n"
    shown = cli("creator", "show", "jane", "--json").json()
    assert shown["enabled"] is False and shown["checks"] == 0
    assert cli("creator", "history", "jane", "--json").json() == []
    assert cli("creator", "remove", "jane").code == 0
    assert cli("creator", "list", "--json").json() == []
    assert [r["state"] for r in cli("creator", "list", "--all", "--json").json()] == ["removed"]
    assert cli("creator", "add", "Jane", "https://example.net/").code == 0  # name free again
    assert [r["url"] for r in cli("creator", "list", "--json").json()] == [
        "https://example.net/"]
