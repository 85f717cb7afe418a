"""The lock passphrase for hosts without PAM: stored only as an scrypt hash in the user config.

Encoded as `scrypt$N$r$p$salt$hash` (salt and hash in base64), so the cost can be raised later without
breaking old hashes. `hascreen passwd` (see `passwd_command`) asks twice without echo and writes the hash
as the top-level `lock_passphrase:` of ~/.config/hascreen/config.yaml, leaving the rest of the file alone.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import os
import re
import sys
from pathlib import Path

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_LENGTH = 8
_MAX_N = 2**20  # refuse absurd costs from a tampered config instead of eating all memory


def hash_passphrase(passphrase: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = os.urandom(SALT_BYTES)
    digest = hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES)
    return "$".join(["scrypt", str(n), str(r), str(p), base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()])


def verify_passphrase(passphrase: str, encoded: str) -> bool:
    """True when passphrase matches; a malformed hash is simply a mismatch (never an exception)."""
    try:
        scheme, n_text, r_text, p_text, salt_text, hash_text = encoded.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        if scheme != "scrypt" or not (2 <= n <= _MAX_N) or n & (n - 1) or not (1 <= r <= 32) or not (1 <= p <= 16):
            return False
        salt = base64.b64decode(salt_text, validate=True)
        expected = base64.b64decode(hash_text, validate=True)
        digest = hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(expected),
                                maxmem=256 * n * r + (1 << 20))
    except (ValueError, TypeError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(digest, expected)


def is_passphrase_hash(value: str) -> bool:
    return bool(re.fullmatch(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+", value))


def write_passphrase_hash(config_path: Path, encoded: str) -> None:
    """Set the top-level `lock_passphrase:` line of config.yaml, keeping every other line as it was."""
    lines = config_path.read_text(encoding="utf-8").splitlines() if config_path.exists() else []
    entry = f"lock_passphrase: '{encoded}'"
    replaced = False
    for index, line in enumerate(lines):
        if re.match(r"lock_passphrase\s*:", line):
            lines[index] = entry
            replaced = True
    if not replaced:
        lines.append(entry)
    config_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = config_path.with_name(config_path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(temporary, config_path)


def passwd_command(argv: list[str], *, ask=getpass.getpass) -> int:
    """`hascreen passwd [--config FILE]`: set the lock passphrase (asked twice, never echoed)."""
    import argparse

    from tui.config.paths import user_config_dir, user_config_file

    parser = argparse.ArgumentParser(prog="hascreen passwd",
                                     description="Set the lock passphrase used where PAM is not available.")
    parser.add_argument("--config", type=Path, help="config file (default: ~/.config/hascreen/config.yaml)")
    args = parser.parse_args(argv)
    path = args.config or user_config_file() or user_config_dir() / "config.yaml"
    first = ask("New lock passphrase: ")
    if len(first) < MIN_LENGTH:
        print(f"hascreen passwd: the passphrase must have at least {MIN_LENGTH} characters", file=sys.stderr)
        return 1
    if ask("Repeat it: ") != first:
        print("hascreen passwd: the two passphrases differ; nothing changed", file=sys.stderr)
        return 1
    write_passphrase_hash(path, hash_passphrase(first))
    print(f"lock passphrase set in {path} (scrypt hash only)")
    return 0
