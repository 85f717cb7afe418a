"""Checking the current user's own password through PAM.

`own_password_usable` says whether the current user could unlock with a password at all (screen asks for a
one-time lock password when the account has none, e.g. root as `*` on sudo systems).

A non-root process can verify only its own user's password (pam_unix asks the setgid helper unix_chkpwd,
which refuses other users), so every client checks the password of the user it runs as; the server then
trusts the kernel-verified peer uid. The service defaults to GNU Screen's: screen calls
`pam_start("screen", ...)`, so "screen" when /etc/pam.d/screen exists, else "login" (what Debian's
screen package effectively gets, since it ships no PAM file and "other" is not meant for this).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

PAM_DIR = Path("/etc/pam.d")


class PamUnavailable(Exception):
    """PAM cannot be used on this host (no python-pam, no libpam, or the service file is missing)."""


def default_pam_service(pam_dir: Path = PAM_DIR) -> str:
    return "screen" if (pam_dir / "screen").is_file() else "login"


def current_user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def verify_own_password(password: str, service: str | None = None, pam_dir: Path = PAM_DIR) -> bool:
    """True when `password` is the current user's password for `service`; never logs or keeps it.

    Raises PamUnavailable when PAM itself cannot answer (then the passphrase fallback applies).
    """
    service = service or default_pam_service(pam_dir)
    if "/" in service or not service or not (pam_dir / service).is_file():
        raise PamUnavailable(f"PAM service {service!r} has no file in {pam_dir}")
    try:
        import pam
    except (ImportError, OSError) as exc:  # python-pam missing or libpam not loadable
        raise PamUnavailable(f"python-pam cannot be used: {exc}") from None
    if not password or "\0" in password:
        return False
    checker = pam.PamAuthenticator()
    try:
        # resetcreds=False: we only verify; establishing credentials is the login program's business
        return bool(checker.authenticate(current_user(), password, service=service, resetcreds=False))
    except (ValueError, OSError):
        return False


def own_password_usable(service: str | None = None, pam_dir: Path = PAM_DIR) -> bool:
    """False when the current user cannot unlock with their own password here: the PAM service or python-pam
    is missing, or the account has no usable password (`passwd -S` reports L, locked such as `*` or `!`, or
    NP, none). An account whose status cannot be read counts as usable."""
    service = service or default_pam_service(pam_dir)
    if "/" in service or not service or not (pam_dir / service).is_file():
        return False
    try:
        import pam  # noqa: F401
    except (ImportError, OSError):
        return False
    return account_password_status() in ("P", None)


def account_password_status() -> str | None:
    """The status letter `passwd -S` gives for the current user (P usable, L locked, NP none), or None."""
    tool = shutil.which("passwd") or ("/usr/bin/passwd" if Path("/usr/bin/passwd").exists() else None)
    if tool is None:
        return None
    try:
        result = subprocess.run([tool, "-S"], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
                                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    fields = result.stdout.split()
    if result.returncode != 0 or len(fields) < 2 or fields[0] != current_user():
        return None
    return fields[1]
