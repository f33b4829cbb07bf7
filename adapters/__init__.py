"""Adapters: the technology behind vipb's ports (SQLite store, secrets, CLI, later browsers)."""
