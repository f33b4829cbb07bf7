"""Request bodies from pages of a direct tab, in real Chromium: every request goes through the
tab's local proxy (the egress guard), which must carry bodies of any size whole, one at a
time and a hundred at once. The server reports what arrived; the page compares it with the
SHA-256 of what it sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.fixtures.servers import upload_server
from service.runtime import Runtime
from tests.helpers import call, evaluate

# A body of ``size`` bytes made from ``seed``, sent as the page's script says; resolves to
# [what the server saw, the SHA-256 the page computed of what it sent].
_SEND = """
async ([size, seed, how]) => {
  const body = new Uint8Array(size);
  for (let i = 0, x = seed; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    body[i] = x >>> 24;
  }
  const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", body))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  let seen;
  if (how === "sync-xhr") {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/upload", false);
    xhr.send(body);
    seen = JSON.parse(xhr.responseText);
  } else if (how === "form") {
    const form = new FormData();
    form.append("file", new Blob([body]), "upload.bin");
    seen = await (await fetch("/upload", { method: "POST", body: form })).json();
    seen.form = true;
  } else {
    seen = await (await fetch("/upload", { method: "POST", body })).json();
  }
  return [seen, digest];
}
"""


@pytest.fixture
def upload_tab(browser_runtime: Runtime) -> Iterator[tuple[Runtime, str]]:
    """A direct tab on the upload server's page."""
    with upload_server() as base:
        tab = call(browser_runtime, "tab:create", url=base + "/", proxy="direct")
        assert tab["status"] == 200, tab
        yield browser_runtime, tab["id"]


@pytest.mark.parametrize(("size", "how"), [
    (14_000, "sync-xhr"), (0, "fetch"), (64 * 1024, "fetch"), (20 * 1024 * 1024, "fetch"),
])
def test_a_page_uploads_a_body_of_any_size(upload_tab: tuple[Runtime, str], size: int,
                                           how: str) -> None:
    rt, tab_id = upload_tab
    seen, digest = evaluate(rt, tab_id, f"({_SEND})([{size}, 7, {how!r}])")
    assert (seen["length"], seen["sha256"]) == (size, digest)


def test_a_hundred_pages_uploads_at_once_all_arrive(upload_tab: tuple[Runtime, str]) -> None:
    rt, tab_id = upload_tab
    results = evaluate(rt, tab_id, f"""Promise.all(Array.from({{length: 100}},
        (_, i) => ({_SEND})([1000 + i * 997, i, "fetch"])))""")
    assert len(results) == 100
    wrong = [i for i, (seen, digest) in enumerate(results)
             if (seen["length"], seen["sha256"]) != (1000 + i * 997, digest)]
    assert wrong == []


def test_a_form_upload_arrives(upload_tab: tuple[Runtime, str]) -> None:
    """A multipart form with a file (the body is larger than the file: boundaries)."""
    rt, tab_id = upload_tab
    seen, _digest = evaluate(rt, tab_id, f"({_SEND})([300000, 3, 'form'])")
    assert seen["length"] > 300_000 and seen["form"] is True
