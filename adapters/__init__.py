"""Adapters: the technology behind vipb's ports: the event store (SQLite), secrets and keys,
Chromium tabs, egress and proxy checks, search-result parsing, the control socket, the CLI,
configuration, logs and backups."""
