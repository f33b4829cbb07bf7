"""Secrets: the master key source chain, derived keys and per-aggregate data keys."""

from adapters.secrets._aead import Aead, derive_key
from adapters.secrets._keystore import DataKeyStore
from adapters.secrets._master_key import (
    KEY_FILE,
    MasterKey,
    create_master_key,
    load_master_key,
)

__all__ = [
    "KEY_FILE",
    "Aead",
    "DataKeyStore",
    "MasterKey",
    "create_master_key",
    "derive_key",
    "load_master_key",
]
