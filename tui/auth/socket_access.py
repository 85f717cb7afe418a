"""Where other users find a session, and opening a session's socket to exactly the users in the ACL.

Directory scheme:
- one's own sessions: `$HASCREEN_DIR`, else `$XDG_RUNTIME_DIR/hascreen`, else `/tmp/hascreen-$UID`
  (tui.server.socketdir);
- a multi-user session must live where other users can reach it. `$XDG_RUNTIME_DIR` (/run/user/UID) is
  mode 0700 and managed by logind, so a session with an `acl:` uses the shared scheme
  `$HASCREEN_SHARED_ROOT/hascreen-$UID` (default root: /tmp), and `hascreen -x alice/ops` looks in
  `socket_dir_for_user("alice")`.

Access is granted with POSIX ACLs (setfacl, package `acl`): the directory gets `u:bob:r-x` (list and
reach the sockets), each socket `u:bob:rw-` (connecting to a unix socket needs write permission); group and
others stay at nothing. Read-only users get the same file access — the server enforces read-only on each
message, after identifying the peer with SO_PEERCRED. Stale entries of users removed from the ACL go away,
because the ACL is set as a whole (`setfacl --set`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

SETFACL = "setfacl"
GETFACL = "getfacl"


class SocketAccessError(Exception):
    """The ACL cannot be applied or a user/session cannot be resolved; the message says what to do."""


def split_user_session(target: str | None) -> tuple[str | None, str | None]:
    """`alice/ops` → ("alice", "ops"); `alice/` → ("alice", None); `ops` → (None, "ops")."""
    if target is None or "/" not in target:
        return None, target
    user, _, session = target.partition("/")
    if not user or "/" in session:
        raise SocketAccessError(f"{target!r}: expected USER/SESSION, e.g. alice/ops")
    return user, session or None


def shared_socket_dir(uid: int | None = None) -> Path:
    root = os.environ.get("HASCREEN_SHARED_ROOT") or "/tmp"
    return Path(root) / f"hascreen-{os.getuid() if uid is None else uid}"


def socket_dir_for_user(name: str) -> Path:
    """The socket directory of another user's multi-user sessions."""
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        raise SocketAccessError(f"no such user: {name}") from None
    return shared_socket_dir(uid)


def resolve_acl(acl: dict[str, str]) -> tuple[dict[int, str], list[str]]:
    """User names → uids with their access level; the second value lists names that do not exist."""
    resolved: dict[int, str] = {}
    unknown: list[str] = []
    for name, level in acl.items():
        try:
            resolved[pwd.getpwnam(name).pw_uid] = level
        except KeyError:
            unknown.append(name)
    return resolved, unknown


def _setfacl(spec: str, path: Path) -> None:
    tool = shutil.which(SETFACL)
    if tool is None:
        raise SocketAccessError("setfacl not found: install the `acl` package to share sessions")
    result = subprocess.run([tool, "--set", spec, "--", str(path)], capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        raise SocketAccessError(f"setfacl on {path} failed: {result.stderr.strip() or result.returncode} "
                                f"(does the file system support POSIX ACLs?)")


def acl_spec(uids: dict[int, str], *, directory: bool) -> str:
    owner = "rwx" if directory else "rw-"
    other = "r-x" if directory else "rw-"
    entries = [f"u::{owner}", "g::---", "o::---"]
    entries += [f"u:{uid}:{other}" for uid in sorted(uids) if uid != os.getuid()]
    if len(entries) > 3:
        entries.append(f"m::{other}")
    return ",".join(entries)


def apply_socket_acl(directory: Path, uids: dict[int, str], sockets: list[Path] = ()) -> None:
    """Open `directory` and `sockets` to exactly `uids` (and close them to everyone else).

    Our other files in the directory (server logs) are closed to group and others first, since the
    directory becomes searchable by the listed users.
    """
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise SocketAccessError(f"{directory} is not a directory of ours")
    for entry in directory.iterdir():
        with_info = entry.lstat()
        if stat.S_ISREG(with_info.st_mode) and with_info.st_uid == os.getuid() and with_info.st_mode & 0o077:
            os.chmod(entry, stat.S_IMODE(with_info.st_mode) & 0o700)
    _setfacl(acl_spec(uids, directory=True), directory)
    for socket_path in sockets:
        _setfacl(acl_spec(uids, directory=False), socket_path)


def named_acl_users(path: Path) -> dict[int, str] | None:
    """The named-user entries of path's access ACL ({uid: perms}); None when it cannot be read."""
    tool = shutil.which(GETFACL)
    if tool is None:
        return None
    result = subprocess.run([tool, "--omit-header", "--absolute-names", "--numeric", "--", str(path)],
                            capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        return None
    users: dict[int, str] = {}
    for line in result.stdout.splitlines():
        parts = line.split("#")[0].strip().split(":")
        if len(parts) == 3 and parts[0] == "user" and parts[1].isdigit():
            users[int(parts[1])] = parts[2]
    return users


def dir_is_shared_by_acl(path: Path) -> bool:
    """True when path's group/other bits come only from a POSIX ACL that hascreen set (named users, group
    and others with nothing): then a 0700 check must not chmod it, or the ACL mask would shut the users out."""
    try:
        info = path.lstat()
    except OSError:
        return False
    if info.st_mode & 0o007:  # others have access: never our ACL
        return False
    users = named_acl_users(path)
    if not users:
        return False
    tool = shutil.which(GETFACL)
    result = subprocess.run([tool or GETFACL, "--omit-header", "--absolute-names", "--", str(path)],
                            capture_output=True, text=True, timeout=10)
    return "group::---" in result.stdout.split()
