"""AES-256-GCM with a random 96-bit nonce per message, and HKDF key derivation."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_LEN = 12


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose; keys for different purposes are independent."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"vipb/{purpose}".encode())
    return hkdf.derive(master)


class Aead:
    """Encrypt/decrypt with AES-256-GCM; the output is nonce || ciphertext || tag."""

    __slots__ = ("_aes",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._aes = AESGCM(key)

    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Seal ``plaintext``; ``aad`` binds the ciphertext to its context (id, version)."""
        nonce = os.urandom(NONCE_LEN)
        return nonce + self._aes.encrypt(nonce, plaintext, aad)

    def decrypt(self, sealed: bytes, aad: bytes = b"") -> bytes:
        """Open a sealed message; raises ``cryptography.exceptions.InvalidTag`` if altered."""
        return self._aes.decrypt(sealed[:NONCE_LEN], sealed[NONCE_LEN:], aad)
