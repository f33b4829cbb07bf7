"""Event fields that hold secrets: masked wherever events are shown (history, the event
stream), never copied into a read model."""

from __future__ import annotations

# proxy and mail-server credentials; an alert rule's signing secret and its webhook URL
# (chat services put their token in the URL's path)
SECRET_FIELDS = frozenset({"username", "password", "secret", "webhook_url"})
