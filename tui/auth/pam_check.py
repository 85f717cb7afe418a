"""Checking the current user's own password through PAM.

A non-root process can verify only its own user's password (pam_unix asks the setgid helper unix_chkpwd,
which refuses other users), so every client checks the password of the user it runs as; the server then
trusts the kernel-verified peer uid. The service defaults to GNU Screen's: screen calls
`pam_start("screen", ...)`, so "screen" when /etc/pam.d/screen exists, else "login" (what Debian's
screen package effectively gets, since it ships no PAM file and "other" is not meant for this).
"""

from __future__ import annotations

import os
import pwd
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
