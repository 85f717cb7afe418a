"""Validation of the lock passphrase hash kept in config.yaml (`lock.passphrase_scrypt`, or the
top-level `lock_passphrase` that `hascreen passwd` writes): an scrypt hash, never the passphrase.

Format: `scrypt$N$r$p$SALT$HASH` with SALT and HASH in base64 (standard or urlsafe, padding optional).
Hashing and checking a passphrase belong to tui.auth; this module only makes sure a config file holds a
well-formed hash, so a typo is reported at load with file and line instead of locking a user out later.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

SCHEME = "scrypt"
MIN_N = 2
MAX_N = 2**20


class PassphraseFormatError(ValueError):
    """The stored value is not a well-formed scrypt hash; the message says which part is wrong."""


@dataclass(frozen=True)
class ScryptHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes


def _b64decode(text: str) -> bytes:
    bare = text.replace("-", "+").replace("_", "/").rstrip("=")
    return base64.b64decode(bare + "=" * (-len(bare) % 4), validate=True)


def parse_scrypt_hash(stored: str) -> ScryptHash:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise PassphraseFormatError("expected scrypt$N$r$p$SALT$HASH")
    try:
        n, r, p = (int(part) for part in parts[1:4])
    except ValueError:
        raise PassphraseFormatError("N, r and p must be integers") from None
    if n < MIN_N or n > MAX_N or n & (n - 1):
        raise PassphraseFormatError(f"N must be a power of two between {MIN_N} and {MAX_N}")
    if not (1 <= r <= 32 and 1 <= p <= 16):
        raise PassphraseFormatError("r must be 1..32 and p 1..16")
    try:
        salt, digest = _b64decode(parts[4]), _b64decode(parts[5])
    except (ValueError, binascii.Error):
        raise PassphraseFormatError("SALT and HASH must be base64") from None
    if len(salt) < 8:
        raise PassphraseFormatError("the salt must be at least 8 bytes")
    if not 16 <= len(digest) <= 64:
        raise PassphraseFormatError("the hash must be 16..64 bytes")
    return ScryptHash(n, r, p, salt, digest)
