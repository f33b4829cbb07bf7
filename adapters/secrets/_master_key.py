"""The master key source chain (first found wins; the source is logged, never the key).

1. ``$CREDENTIALS_DIRECTORY/vipb-master-key`` (systemd ``LoadCredential=``)
2. ``VIPB_MASTER_KEY``
3. the OS keyring, only when a real backend is available (headless Linux has none: never prompt)
4. ``master.key`` in the data dir, mode 0600, created by ``vipb init`` (refused if wider)

Key format everywhere: 32 random bytes, base64.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from domain.errors import SecurityError

log = logging.getLogger(__name__)

KEY_FILE = "master.key"
CREDENTIAL_NAME = "vipb-master-key"
KEYRING_SERVICE = "vipb"


@dataclass(frozen=True)
class MasterKey:
    """The 32-byte master key and where it came from (for logs and `vipb status`)."""

    key: bytes
    source: str

    def __repr__(self) -> str:
        return f"MasterKey(source={self.source!r})"


def _decode(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SecurityError(f"master key from {source} is not valid base64") from None
    if len(key) != 32:
        raise SecurityError(f"master key from {source} must be 32 bytes, got {len(key)}")
    return key


def _keyring_backend() -> object | None:
    """The keyring backend when a real one exists, else None (never prompts)."""
    if os.environ.get("VIPB_KEYRING", "auto").lower() in {"0", "off", "no", "false"}:
        return None
    try:
        import keyring
        from keyring.backends import chainer, fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken backend must not stop the host
        return None
    if isinstance(backend, fail.Keyring) or type(backend).__module__.endswith("null"):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


def _key_file_key(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecurityError(
            f"{path} has mode {mode:o}; it must be readable by its owner only (chmod 600)"
        )
    return _decode(path.read_text(), str(path))


def load_master_key(data_dir: Path) -> MasterKey | None:
    """Walk the source chain and return the first key found, or None when there is none."""
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir and (Path(cred_dir) / CREDENTIAL_NAME).is_file():
        path = Path(cred_dir) / CREDENTIAL_NAME
        return MasterKey(_decode(path.read_text(), str(path)), "systemd-credential")
    env_value = os.environ.get("VIPB_MASTER_KEY")
    if env_value:
        return MasterKey(_decode(env_value, "VIPB_MASTER_KEY"), "env:VIPB_MASTER_KEY")
    backend = _keyring_backend()
    if backend is not None:
        stored = backend.get_password(KEYRING_SERVICE, str(data_dir))  # type: ignore[attr-defined]
        if stored:
            return MasterKey(_decode(stored, "keyring"), f"keyring:{type(backend).__name__}")
    path = data_dir / KEY_FILE
    if path.is_file():
        return MasterKey(_key_file_key(path), f"file:{path}")
    return None


def create_master_key(data_dir: Path) -> MasterKey:
    """Generate a new key into the keyring if a real one exists, else into a 0600 key file."""
    text = base64.b64encode(secrets.token_bytes(32)).decode()
    backend = _keyring_backend()
    if backend is not None:
        backend.set_password(KEYRING_SERVICE, str(data_dir), text)  # type: ignore[attr-defined]
        return MasterKey(_decode(text, "keyring"), f"keyring:{type(backend).__name__}")
    path = data_dir / KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    return MasterKey(_decode(text, str(path)), f"file:{path}")
