"""Who may unlock and attach to a hascreen session: PAM checks of the current user's own password, the
scrypt-hashed lock passphrase fallback, rate limiting of wrong attempts, the `acl:`/`lock:` part of the user
config, and the socket-directory permissions that open a session to exactly the users in the ACL.

Stdlib + python-pam + tui.config only, so both the client (which checks its own user's password) and the
server (which trusts the kernel-verified peer uid plus its ACL) can use it. Nothing here ever logs or stores
a password: a passphrase is kept only as an scrypt hash.
"""

from tui.auth.pam_check import PamUnavailable, default_pam_service, own_password_usable, verify_own_password
from tui.auth.passphrase import hash_passphrase, verify_passphrase
from tui.auth.rate_limit import AttemptLimiter
from tui.auth.settings import ACCESS_LEVELS, LockSettings, load_lock_settings
from tui.auth.socket_access import (
    SocketAccessError,
    apply_socket_acl,
    dir_is_shared_by_acl,
    resolve_acl,
    shared_socket_dir,
    socket_dir_for_user,
    split_user_session,
)

__all__ = [
    "ACCESS_LEVELS",
    "AttemptLimiter",
    "LockSettings",
    "PamUnavailable",
    "SocketAccessError",
    "apply_socket_acl",
    "default_pam_service",
    "dir_is_shared_by_acl",
    "hash_passphrase",
    "load_lock_settings",
    "own_password_usable",
    "resolve_acl",
    "shared_socket_dir",
    "socket_dir_for_user",
    "split_user_session",
    "verify_own_password",
    "verify_passphrase",
]
