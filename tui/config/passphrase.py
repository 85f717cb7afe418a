"""The `lock.passphrase_scrypt` value of config.yaml: an scrypt hash of a lock passphrase, never the
passphrase itself.

Format: `scrypt$N$r$p$SALT$HASH` with SALT and HASH in unpadded urlsafe base64. `hascreen` can write one
with `hash_passphrase`; the lock screen checks an attempt with `verify_passphrase`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

SCHEME = "scrypt"
MIN_N = 2**10
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


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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
    except (ValueError, TypeError):
        raise PassphraseFormatError("SALT and HASH must be base64") from None
    if len(salt) < 16:
        raise PassphraseFormatError("the salt must be at least 16 bytes")
    if not 16 <= len(digest) <= 64:
        raise PassphraseFormatError("the hash must be 16..64 bytes")
    return ScryptHash(n, r, p, salt, digest)


def _derive(passphrase: str, n: int, r: int, p: int, salt: bytes, length: int) -> bytes:
    return hashlib.scrypt(passphrase.encode(), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=128 * r * (n + p + 2) + 1024 * 1024)


def hash_passphrase(passphrase: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    salt = os.urandom(16)
    digest = _derive(passphrase, n, r, p, salt, 32)
    return f"{SCHEME}${n}${r}${p}${_b64encode(salt)}${_b64encode(digest)}"


def verify_passphrase(stored: str, attempt: str) -> bool:
    """True when `attempt` matches; compares in constant time."""
    parsed = parse_scrypt_hash(stored)
    digest = _derive(attempt, parsed.n, parsed.r, parsed.p, parsed.salt, len(parsed.digest))
    return hmac.compare_digest(digest, parsed.digest)
