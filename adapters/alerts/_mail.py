"""E-mail delivery through the configured SMTP server (``smtplib``, the standard library's
client).

The server's name is resolved and checked by the egress guard and the connection goes to
the checked address (a second lookup cannot rebind it); TLS still verifies the certificate
for the name. ``starttls`` upgrades the connection before the login and the message, and a
server that does not offer STARTTLS is refused: nothing is ever sent in clear text.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from typing import Any

import orjson

from adapters.alerts._delivery import ATTEMPT_DEADLINE, DeliveryError, refused
from adapters.alerts._digest import add_digest
from adapters.egress import EgressGuard, EgressRefused

# Headers up to 998 characters a line (RFC 5322's limit; 78 is a recommendation): Python
# folds a long subject before its first word, which leaves a leading space once unfolded.
_POLICY = SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class MailServerConfig:
    """Where and how to send (``security``: ``starttls`` or ``tls``)."""

    host: str
    port: int
    security: str
    username: str | None
    password: str | None
    sender: str
    ca_file: str | None = None

    def context(self) -> ssl.SSLContext:
        """Certificate checks against the system's CAs, or ``ca_file``'s."""
        return ssl.create_default_context(cafile=self.ca_file)


class _Pinned:
    """Connect to ``address`` (checked by the guard) while speaking to ``host``."""

    address: str
    _host: str  # smtplib's: the name TLS verifies

    def pin(self, address: str, host: str) -> None:
        """Connect to ``address``; check certificates for ``host``."""
        self.address, self._host = address, host

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self.address, port), timeout)


class _PinnedSMTP(_Pinned, smtplib.SMTP):
    pass


class _PinnedSMTPS(_Pinned, smtplib.SMTP_SSL):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = super()._get_socket(host, port, timeout)
        return self.context.wrap_socket(raw, server_hostname=self._host)


def compose(server: MailServerConfig, to: str, alert: dict[str, Any]) -> EmailMessage:
    """The message: the alert's sentence as subject and first line, its data as JSON (a
    digest: text and HTML with sparklines); the Message-ID is the alert's id, so a resend
    after a crash is the same message."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = server.sender
    message["To"] = to
    message["Subject"] = f"[vipb] {alert['message']}"[:200]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<alert-{alert['id']}@vipb.invalid>"
    message["X-Vipb-Delivery"] = str(alert["id"])
    if alert["kind"] == "digest":  # a schedule run's summary, with a table and sparklines
        add_digest(message, alert)
        return message
    message.set_content(f"{alert['message']}\n\nrule: {alert['rule']} ({alert['kind']})\n"
                        f"raised: {alert['triggered_at']}\n\n"
                        + orjson.dumps(alert, option=orjson.OPT_INDENT_2).decode() + "\n")
    return message


class MailSender:
    """Sends alerts by e-mail; ``server()`` gives the configured server (None: not set)."""

    def __init__(self, guard: EgressGuard, server: Any,
                 deadline: float = ATTEMPT_DEADLINE) -> None:
        """``deadline``: seconds the whole attempt may take (a server that trickles its
        replies holds a delivery worker no longer than this)."""
        self._guard = guard
        self._server = server
        self._deadline = deadline

    def send(self, target: dict[str, Any], alert: dict[str, Any]) -> str:
        """Mail ``alert`` to ``target["email"]``."""
        server: MailServerConfig | None = self._server()
        if server is None:
            raise DeliveryError("no mail server is set (vipb alert smtp set ...)")
        try:
            address = asyncio.run(self._guard.addresses(server.host, server.port))[0]
        except EgressRefused as exc:
            raise refused(exc) from None
        expired = threading.Event()
        try:
            try:
                return self._send(server, address, target["email"], alert, expired)
            except Exception:
                if expired.is_set():
                    raise DeliveryError(f"no complete answer within {self._deadline:g} s") \
                        from None
                raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"recipient refused ({codes[0] if codes else '?'})",
                                permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(f"{server.host} does not offer STARTTLS: not sending in "
                                "clear text (use security tls, or another server)") from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise DeliveryError(f"SMTP {exc.smtp_code} {text[:200]}") from None
        except (OSError, smtplib.SMTPException) as exc:  # ssl.SSLError is an OSError
            raise DeliveryError(f"{type(exc).__name__}: {exc or 'failed'}") from None

    def _send(self, server: MailServerConfig, address: str, to: str,
              alert: dict[str, Any], expired: threading.Event) -> str:
        client: _PinnedSMTP | _PinnedSMTPS
        if server.security == "tls":
            client = _PinnedSMTPS(timeout=self._deadline, context=server.context())
        else:
            client = _PinnedSMTP(timeout=self._deadline)
        client.pin(address, server.host)

        def expire() -> None:  # smtplib's timeout is per read: cut the socket at the deadline
            expired.set()
            sock = client.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(self._deadline, expire)
        timer.daemon = True
        timer.start()
        try:
            return self._session(client, server, to, alert)
        finally:
            timer.cancel()

    @staticmethod
    def _session(client: _PinnedSMTP | _PinnedSMTPS, server: MailServerConfig, to: str,
                 alert: dict[str, Any]) -> str:
        with client:
            client.connect(server.host, server.port)
            if server.security == "starttls":
                client.ehlo()
                client.starttls(context=server.context())  # raises if not offered
                client.ehlo()
            if server.username is not None and server.password is not None:
                client.login(server.username, server.password)
            refused = client.send_message(compose(server, to, alert))
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
        return f"accepted by {server.host}"
