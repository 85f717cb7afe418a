"""`python -m tui.server`: the daemon process the CLI starts for each session (not for direct use)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path

import tui.entry  # noqa: F401 - before the daemon (and asyncssh): keeps dependency warnings out of the log
from tui.server.composition import serve
from tui.server.daemon import ServerOptions, configure_logging
from tui.server.socketdir import SocketDirError, socket_name, valid_session_name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.server")
    parser.add_argument("--session", required=True)
    parser.add_argument("--socket-dir", required=True, type=Path)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--scrollback", type=int, default=10_000)
    parser.add_argument("--initial", default="[]", help="JSON list of command lines to run at start")
    parser.add_argument("--hosts", type=Path, help="hosts.yaml for SSH panes, health and procedures")
    parser.add_argument("shell", nargs="*")
    args = parser.parse_args(argv)
    if not valid_session_name(args.session):
        parser.error(f"invalid session name {args.session!r}")  # the socket, -ls and every frame carry it
    if args.log:
        try:
            configure_logging(args.log)
        except (SocketDirError, OSError) as exc:
            print(f"hascreen server: cannot open its log: {exc}", file=sys.stderr)
            return 1
    if args.hosts:
        os.environ["HASCREEN_HOSTS"] = str(args.hosts)
    socket_path = args.socket_dir / socket_name(os.getpid(), args.session)
    options = ServerOptions(session=args.session, socket_path=socket_path, shell=args.shell or None,
                            scrollback=args.scrollback, cwd=os.getcwd(), initial_commands=json.loads(args.initial))
    # the modules imported so far (most of the objects the server will hold) live as long as it does: the
    # collector need not walk them again (a full collection took 15-20 ms, a stall for any keystroke behind it)
    gc.freeze()
    return serve(options)


if __name__ == "__main__":
    sys.exit(main())
