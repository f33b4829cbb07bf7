"""A creator's public profile page on 127.0.0.1, built like a real one (header, navigation,
a main column of posts with view counters and relative times that change on every load, a
sidebar, a footer, a canonical link) at ``/@<handle>``; ``/old-profile`` redirects to
``/@jane``, anything else is a 404. ``release`` cleared: the page waits before answering
(a check held mid-load)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from scripts.fixtures.servers import http_server


@dataclass
class Profile:
    """What the page shows; ``loads`` counts page requests."""

    posts: list[str] = field(default_factory=lambda: ["Espresso at home", "Grinder notes"])
    loads: int = 0
    requests: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # cleared: pages wait

    def __post_init__(self) -> None:
        self.release.set()


def _page(profile: Profile, base: str) -> str:
    posts = "".join(
        f'<article class="post"><h2><a href="/p/{n}">{title}</a></h2>'
        f'<p class="meta"><time>{profile.loads * 7 + n} minutes ago</time> · '
        f'{1200 + profile.loads * 13 + n:,} views</p><p>{title}: a few words.</p></article>'
        for n, title in enumerate(profile.posts))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Jane Doe (@jane) · Example</title>
<link rel="canonical" href="{base}/@jane">
<meta property="og:title" content="Jane Doe"></head><body>
<header><a href="/">Example</a><nav><a href="/explore">Explore</a> <a href="/login">Log in</a>
</nav></header>
<div class="layout"><aside><p>Followers: {5000 + profile.loads}</p>
<p>Trending now: #{profile.loads}</p></aside>
<main><section class="bio"><h1>Jane Doe</h1><p>Coffee, gear and notes.</p></section>
<section class="posts">{posts}</section></main></div>
<footer>© 2026 Example · <a href="/terms">Terms</a></footer></body></html>"""


@contextlib.contextmanager
def serve_creator() -> Iterator[tuple[str, Profile]]:
    """The site on 127.0.0.1: its base URL and the profile it shows."""
    profile = Profile()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            profile.requests.append(self.path)
            if self.path == "/old-profile":
                self.send_response(301)
                self.send_header("Location", "/@jane")
                self.end_headers()
                return
            if not self.path.startswith("/@"):
                self.send_error(404)
                return
            profile.loads += 1
            profile.release.wait(120)  # held while the test says so
            body = _page(profile, f"http://{self.headers['Host']}").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    with http_server(Handler) as base:
        try:
            yield base, profile
        finally:
            profile.release.set()  # a page still held (a test failed) lets go
