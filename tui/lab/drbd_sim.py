#!/usr/bin/python3
"""SIMULATED DRBD for the lab: `drbdadm` and `drbdsetup` shims with the real output formats.

The machines the lab runs on have no DRBD kernel module, so this file stands in for it. It is installed on
each node as /usr/local/sbin/drbd-sim with `drbdadm` and `drbdsetup` symlinked to it (first on sshd's PATH),
and run by /usr/bin/python3 (stdlib only). Both peers share one JSON state file (under the lab dir, bound to
/run/drbd-shared inside the nodes), guarded by fcntl.flock. The local node is `uname -n`.

What it models: roles, disk states, the connection (Connected / Connecting / StandAlone), primary refused
while the connected peer is Primary (unless --force), disconnect/connect, `connect --discard-my-data`,
split brain (both were Primary while disconnected → both StandAlone on reconnect), and resync whose done%
advances with the wall clock while out-of-sync shrinks. Output formats: `drbdadm status` (9.x),
`drbdsetup status [--verbose] [--statistics] [--json]`, `drbdsetup events2 [--now] [--statistics]`,
and DRBD 8.4's /proc/drbd via `drbdadm proc` (a simulator extension: there is no /proc/drbd without the
module). Exit codes: 10 unknown resource, 11 state change refused, 20 module not loaded, 1 usage.
`drbdadm dump` passes through to the real drbdadm when drbd-utils is installed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time

STATE_FILE_NAME = "state.json"
STATE_DIR_DEFAULT = "/run/drbd-shared"
REAL_DRBDADM = "/usr/sbin/drbdadm"
DEFAULT_SIZE_KIB = 524236
DEFAULT_SYNC_RATE_KIB = 12000  # a full resync of 512 MiB takes ~44 s: slow enough to watch
DIVERGE_KIB_PER_S = 256  # how fast a disconnected Primary accumulates out-of-sync blocks

EXIT_USAGE = 1
EXIT_NO_RESOURCE = 10
EXIT_STATE_REFUSED = 11
EXIT_NO_MODULE = 20


class DrbdFailure(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- state file


def state_path() -> str:
    return os.path.join(os.environ.get("DRBD_SIM_DIR", STATE_DIR_DEFAULT), STATE_FILE_NAME)


def _new_node(node_id: int, role: str) -> dict:
    return {"node_id": node_id, "loaded": True, "up": True, "role": role, "disk": "UpToDate",
            "standalone": False, "discard": False, "diverged": False, "reachable": True,
            "read": 0, "written": 0, "sent": 0, "received": 0}


def initial_resource(nodes: list[str], primary: str | None, size: int = DEFAULT_SIZE_KIB) -> dict:
    return {
        "minor": 0, "volume": 0, "size": size, "protocol": "C", "port": 7789,
        "nodes": {n: _new_node(i, "Primary" if n == primary else "Secondary") for i, n in enumerate(nodes)},
        "connected": True, "disconnected_at": None, "split_brain": False, "sync": None,
        "sync_rate": DEFAULT_SYNC_RATE_KIB, "addresses": {},
    }


def write_initial_state(path, resource: str, nodes: list[str], primary: str | None,
                        addresses: dict[str, str] | None = None) -> None:
    res = initial_resource(nodes, primary)
    res["addresses"] = dict(addresses or {})
    with locked_state(str(path), create=True) as state:
        state.clear()
        state.update({"version": 1, "resources": {resource: res}})


@contextlib.contextmanager
def locked_state(path: str | None = None, create: bool = False):
    """Yield the state dict under an exclusive lock; written back (atomically) on normal exit."""
    path = path or state_path()
    lock_path = path + ".lock"
    if not create and not os.path.exists(path):
        raise DrbdFailure("Could not connect to 'drbd' generic netlink family", EXIT_NO_MODULE)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path) as fh:
                state = json.load(fh)
        except (OSError, ValueError):
            state = {"version": 1, "resources": {}}
        before = json.dumps(state, sort_keys=True)
        yield state
        if json.dumps(state, sort_keys=True) != before:
            tmp = f"{path}.tmp.{os.getpid()}"
            with open(tmp, "w") as fh:
                json.dump(state, fh, indent=1, sort_keys=True)
            os.replace(tmp, path)


# ---------------------------------------------------------------- the state machine


def peer_of(res: dict, me: str) -> str:
    return next(n for n in res["nodes"] if n != me)


def link_possible(res: dict) -> bool:
    return all(n["loaded"] and n["up"] and n["reachable"] and not n["standalone"]
               for n in res["nodes"].values())


def settle(res: dict, now: float) -> None:
    """Apply the transitions that happen by themselves: handshake, disconnect, divergence, resync."""
    nodes = res["nodes"]
    if res["connected"] and not link_possible(res):
        res["connected"] = False
        res["disconnected_at"] = now
        if res["sync"]:
            res["sync"]["paused_done"] = _sync_done_kib(res, now)
            res["sync"]["paused"] = True
    if not res["connected"]:
        for n in nodes.values():
            if n["up"] and n["loaded"] and n["role"] == "Primary":
                n["diverged"] = True
    if not res["connected"] and link_possible(res):
        _handshake(res, now)
    if res["connected"] and res["sync"] and _sync_done_kib(res, now) >= res["sync"]["total"]:
        target = nodes[res["sync"]["target"]]
        target["disk"] = "UpToDate"
        source = nodes[res["sync"]["source"]]
        source["sent"] += res["sync"]["total"]
        target["received"] += res["sync"]["total"]
        res["sync"] = None


def _handshake(res: dict, now: float) -> None:
    nodes = res["nodes"]
    names = list(nodes)
    a, b = names
    gone = now - (res["disconnected_at"] or now)
    oos = min(res["size"], max(64, int(gone * DIVERGE_KIB_PER_S)))
    discarding = [n for n in names if nodes[n]["discard"]]
    diverged = [n for n in names if nodes[n]["diverged"]]
    for n in names:
        nodes[n]["discard"] = False
    if len(diverged) == 2 and len(discarding) != 1:
        # Split brain detected: with the default after-sb policies both sides drop the connection.
        res["split_brain"] = True
        for n in names:
            nodes[n]["standalone"] = True
        return
    res["connected"] = True
    res["disconnected_at"] = None
    source = None
    if len(discarding) == 1:
        source = peer_of(res, discarding[0])
    elif len(diverged) == 1:
        source = diverged[0]
    if res["sync"] and res["sync"].get("paused") and source is None:
        res["sync"]["paused"] = False
        res["sync"]["started"] = now - res["sync"]["paused_done"] / max(1, res["sync_rate"])
    elif source is not None:
        _start_sync(res, source, oos, now)
    else:
        for n, other in ((a, b), (b, a)):
            if nodes[n]["disk"] == "Inconsistent" and nodes[other]["disk"] == "UpToDate":
                _start_sync(res, other, res["size"], now)
    res["split_brain"] = False
    for n in names:
        nodes[n]["diverged"] = False


def _start_sync(res: dict, source: str, total: int, now: float) -> None:
    target = peer_of(res, source)
    res["nodes"][target]["disk"] = "Inconsistent"
    res["sync"] = {"source": source, "target": target, "started": now, "total": int(total),
                   "paused": False, "paused_done": 0}


def _sync_done_kib(res: dict, now: float) -> int:
    sync = res["sync"]
    if sync.get("paused"):
        return int(sync.get("paused_done", 0))
    return min(sync["total"], int((now - sync["started"]) * res["sync_rate"]))


def sync_progress(res: dict, now: float) -> tuple[float, int]:
    """(percent done, KiB still out of sync) of the running resync."""
    sync = res["sync"]
    done = _sync_done_kib(res, now)
    return 100.0 * done / max(1, sync["total"]), sync["total"] - done


# ---------------------------------------------------------------- views


def local_view(res: dict, me: str, now: float) -> dict:
    """Everything the local node's kernel would report about the resource."""
    node = res["nodes"][me]
    peer_name = peer_of(res, me)
    peer = res["nodes"][peer_name]
    view = {"role": node["role"], "disk": node["disk"], "peer": peer_name, "node_id": node["node_id"],
            "peer_node_id": peer["node_id"], "peer_role": "Unknown", "peer_disk": "DUnknown",
            "replication": "Off", "done": None, "oos": 0, "size": res["size"], "minor": res["minor"],
            "volume": res["volume"], "sent": node["sent"], "received": node["received"],
            "written": node["written"], "read": node["read"]}
    if node["standalone"]:
        view["connection"] = "StandAlone"
    elif res["connected"]:
        view["connection"] = "Connected"
        view["peer_role"] = peer["role"]
        view["peer_disk"] = peer["disk"]
        view["replication"] = "Established"
        if res["sync"] and not res["sync"].get("paused"):
            pct, oos = sync_progress(res, now)
            view["replication"] = "SyncSource" if res["sync"]["source"] == me else "SyncTarget"
            view["done"] = pct
            view["oos"] = oos
    else:
        view["connection"] = "Connecting"
        if node["diverged"] or node["role"] == "Primary":
            gone = now - (res["disconnected_at"] or now)
            view["oos"] = min(res["size"], int(gone * DIVERGE_KIB_PER_S))
    return view


def fmt_drbdadm_status(name: str, v: dict) -> str:
    lines = [f"{name} role:{v['role']}", f"  disk:{v['disk']}"]
    if v["connection"] != "Connected":
        lines.append(f"  {v['peer']} connection:{v['connection']}")
    else:
        lines.append(f"  {v['peer']} role:{v['peer_role']}")
        extra = ""
        if v["replication"] != "Established":
            extra = f"replication:{v['replication']} "
        done = f" done:{v['done']:.2f}" if v["done"] is not None else ""
        lines.append(f"    {extra}peer-disk:{v['peer_disk']}{done}")
    return "\n".join(lines) + "\n\n"


def fmt_setup_status(name: str, v: dict, verbose: bool, stats: bool) -> str:
    if not verbose and not stats:
        return fmt_drbdadm_status(name, v)
    lines = [f"{name} node-id:{v['node_id']} role:{v['role']} suspended:no"]
    if stats:
        lines.append("    write-ordering:flush")
    lines.append(f"  volume:{v['volume']} minor:{v['minor']} disk:{v['disk']} quorum:yes"
                 + ("" if stats else " blocked:no"))
    if stats:
        lines.append(f"      size:{v['size']} read:{v['read']} written:{v['written']} al-writes:0 bm-writes:0"
                     " upper-pending:0 lower-pending:0 al-suspended:no blocked:no")
    role = f" role:{v['peer_role']}" if v["connection"] == "Connected" else ""
    lines.append(f"  {v['peer']} node-id:{v['peer_node_id']} connection:{v['connection']}{role}"
                 " congested:no" + (" ap-in-flight:0 rs-in-flight:0" if stats else ""))
    if v["connection"] == "Connected":
        done = f" done:{v['done']:.2f}" if v["done"] is not None else ""
        lines.append(f"    volume:{v['volume']} replication:{v['replication']} peer-disk:{v['peer_disk']}"
                     f"{done} resync-suspended:no")
        if stats:
            lines.append(f"        received:{v['received']} sent:{v['sent']} out-of-sync:{v['oos']}"
                         " pending:0 unacked:0")
    return "\n".join(lines) + "\n\n"


def json_status(name: str, v: dict) -> dict:
    connected = v["connection"] == "Connected"
    peer_device = {
        "volume": v["volume"], "replication-state": v["replication"], "peer-disk-state": v["peer_disk"],
        "peer-client": False, "resync-suspended": "no", "received": v["received"], "sent": v["sent"],
        "out-of-sync": v["oos"], "pending": 0, "unacked": 0,
        "has-sync-details": v["done"] is not None, "has-online-verify-details": False,
        "percent-in-sync": round(100.0 * (v["size"] - v["oos"]) / max(1, v["size"]), 2),
    }
    if v["done"] is not None:
        peer_device["rs-total"] = v["size"]
        peer_device["rs-failed"] = 0
    return {
        "name": name, "node-id": v["node_id"], "role": v["role"], "suspended": False,
        "write-ordering": "flush",
        "devices": [{"volume": v["volume"], "minor": v["minor"], "disk-state": v["disk"], "client": False,
                     "quorum": True, "size": v["size"], "read": v["read"], "written": v["written"],
                     "al-writes": 0, "bm-writes": 0, "upper-pending": 0, "lower-pending": 0}],
        "connections": [{"peer-node-id": v["peer_node_id"], "name": v["peer"],
                         "connection-state": v["connection"], "congested": False,
                         "peer-role": v["peer_role"] if connected else "Unknown",
                         "ap-in-flight": 0, "rs-in-flight": 0, "peer_devices": [peer_device]}],
    }


def events2_lines(name: str, v: dict, res: dict, me: str, stats: bool, verb: str = "exists") -> list[str]:
    connected = v["connection"] == "Connected"
    may = "no" if v["role"] == "Primary" else "yes"
    peer = f"name:{name} peer-node-id:{v['peer_node_id']} conn-name:{v['peer']}"
    device = (f"{verb} device name:{name} volume:{v['volume']} minor:{v['minor']} backing_dev:/dev/lab-vg/{name}"
              f" disk:{v['disk']} client:no quorum:yes")
    if stats:
        device += (f" size:{v['size']} read:{v['read']} written:{v['written']} al-writes:0 bm-writes:0"
                   " upper-pending:0 lower-pending:0 al-suspended:no blocked:no")
    pd = (f"{verb} peer-device {peer} volume:{v['volume']} replication:{v['replication']}"
          f" peer-disk:{v['peer_disk']} peer-client:no resync-suspended:no")
    if v["done"] is not None:
        pd += f" done:{v['done']:.2f}"
    if stats:
        pd += f" received:{v['received']} sent:{v['sent']} out-of-sync:{v['oos']} pending:0 unacked:0"
    addrs = res.get("addresses", {})
    port = res.get("port", 7789)
    return [
        f"{verb} resource name:{name} role:{v['role']} suspended:no write-ordering:flush may_promote:{may}"
        f" promotion_score:{10102 if v['disk'] == 'UpToDate' else 0}",
        f"{verb} connection {peer} connection:{v['connection']} role:{v['peer_role'] if connected else 'Unknown'}"
        + (" congested:no ap-in-flight:0 rs-in-flight:0" if stats else ""),
        device,
        pd,
        f"{verb} path {peer} local:ipv4:{addrs.get(me, '0.0.0.0')}:{port}"
        f" peer:ipv4:{addrs.get(v['peer'], '0.0.0.0')}:{port} established:{'yes' if connected else 'no'}",
    ]


def proc_drbd(res: dict, v: dict, up: bool) -> str:
    head = "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: SIMULATED-hascreen-lab\n"
    if not up:
        return head + f" {v['minor']}: cs:Unconfigured\n"
    cs = {"Connected": "Connected", "Connecting": "WFConnection", "StandAlone": "StandAlone"}[v["connection"]]
    if v["replication"] in ("SyncSource", "SyncTarget"):
        cs = v["replication"]
    proto = f" {res['protocol']}" if cs != "StandAlone" else "  "
    line = (f" {v['minor']}: cs:{cs} ro:{v['role']}/{v['peer_role']} ds:{v['disk']}/{v['peer_disk']}"
            f"{proto} r-----\n"
            f"    ns:{v['sent']} nr:{v['received']} dw:{v['written']} dr:{v['read']} al:0 bm:0 lo:0 pe:0 ua:0"
            f" ap:0 ep:1 wo:f oos:{v['oos']}\n")
    if v["done"] is not None:
        permille = int(v["done"] * 10)
        bar = "=" * max(0, permille // 50 - 1) + ">"
        bar += "." * (20 - len(bar))
        rate = res["sync_rate"]
        left = int(v["oos"] / max(1, rate))
        line += (f"\t[{bar}] sync'ed:{permille // 10:3d}.{permille % 10}% ({v['oos']}/{v['size']})K\n"
                 f"\tfinish: {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d} speed: {rate:,} ({rate:,}) K/sec\n")
    return head + line


# ---------------------------------------------------------------- commands


def _resource(state: dict, name: str) -> dict:
    res = state["resources"].get(name)
    if res is None:
        raise DrbdFailure(f"'{name}' not defined in your config (for this host).", EXIT_NO_RESOURCE)
    return res


def _require_loaded(res: dict, me: str) -> dict:
    node = res["nodes"][me]
    if not node["loaded"]:
        raise DrbdFailure("Could not connect to 'drbd' generic netlink family", EXIT_NO_MODULE)
    return node


def _require_up(res: dict, me: str, name: str) -> dict:
    node = _require_loaded(res, me)
    if not node["up"]:
        raise DrbdFailure(f"{name}: No such resource", EXIT_NO_RESOURCE)
    return node


def _resource_names(state: dict, args: list[str]) -> list[str]:
    names = [a for a in args if not a.startswith("-")]
    if not names or names == ["all"]:
        return sorted(state["resources"])
    return names


def cmd_status(me: str, args: list[str], out: list[str], tool: str) -> None:
    verbose = "--verbose" in args or "-v" in args
    stats = "--statistics" in args or "-s" in args
    as_json = "--json" in args
    now = time.time()
    docs = []
    with locked_state() as state:
        for name in _resource_names(state, args):
            res = _resource(state, name)
            settle(res, now)
            node = _require_loaded(res, me)
            if not node["up"]:
                if name in args:
                    raise DrbdFailure(f"{name}: No such resource", EXIT_NO_RESOURCE)
                continue
            v = local_view(res, me, now)
            if as_json:
                docs.append(json_status(name, v))
            elif tool == "drbdadm" and not (verbose or stats):
                out.append(fmt_drbdadm_status(name, v))
            else:
                out.append(fmt_setup_status(name, v, verbose, stats))
    if as_json:
        out.append(json.dumps(docs, indent=2) + "\n")


def _events_snapshot(me: str, args: list[str], stats: bool, verb: str) -> list[str]:
    now = time.time()
    lines: list[str] = []
    with locked_state() as state:
        for name in _resource_names(state, args):
            res = _resource(state, name)
            settle(res, now)
            node = _require_loaded(res, me)
            if node["up"]:
                lines.extend(events2_lines(name, local_view(res, me, now), res, me, stats, verb))
    return lines


def cmd_events2(me: str, args: list[str], out: list[str]) -> None:
    stats = "--statistics" in args or "-s" in args
    lines = _events_snapshot(me, args, stats, "exists")
    out.extend(line + "\n" for line in lines)
    out.append("exists -\n")
    if "--now" in args or "-n" in args:
        return
    sys.stdout.write("".join(out))
    sys.stdout.flush()
    out.clear()
    previous = {line.split(" ", 1)[1] for line in lines}
    while True:  # a stream, like the real one: ends when the reader goes away (SIGPIPE / SIGINT)
        time.sleep(0.5)
        current = _events_snapshot(me, args, stats, "change")
        for line in current:
            if line.split(" ", 1)[1] not in previous:
                sys.stdout.write(line + "\n")
        sys.stdout.flush()
        previous = {line.split(" ", 1)[1] for line in current}


def cmd_change(me: str, action: str, args: list[str]) -> str:
    """primary/secondary/connect/disconnect/up/down/invalidate(-remote) on one resource; returns stderr text."""
    names = [a for a in args if not a.startswith("-")]
    if not names:
        raise DrbdFailure(f"USAGE: drbdadm {action} [OPTION...] {{all|RESOURCE...}}", EXIT_USAGE)
    force = "--force" in args
    discard = "--discard-my-data" in args
    now = time.time()
    with locked_state() as state:
        for name in _resource_names(state, names):
            res = _resource(state, name)
            settle(res, now)
            node = res["nodes"][me]
            peer = res["nodes"][peer_of(res, me)]
            if action == "up":
                if not node["up"] or not node["loaded"]:
                    node.update(loaded=True, up=True, role="Secondary", standalone=False)
            elif action == "down":
                _require_loaded(res, me)
                node.update(up=False, role="Secondary")
            elif action == "primary":
                _require_up(res, me, name)
                if res["connected"] and peer["role"] == "Primary" and not force:
                    raise DrbdFailure(f"{name}: State change failed: (-1) Multiple primaries not allowed by config",
                                      EXIT_STATE_REFUSED)
                if node["disk"] != "UpToDate" and not force and not (
                        res["connected"] and peer["disk"] == "UpToDate"):
                    raise DrbdFailure(f"{name}: State change failed: (-2) Need access to UpToDate data",
                                      EXIT_STATE_REFUSED)
                if force and node["disk"] != "UpToDate" and not res["connected"]:
                    node["disk"] = "UpToDate"
                node["role"] = "Primary"
                node["written"] += 4096
            elif action == "secondary":
                _require_up(res, me, name)
                node["role"] = "Secondary"
            elif action == "disconnect":
                _require_up(res, me, name)
                node["standalone"] = True
            elif action == "connect":
                _require_up(res, me, name)
                if not node["standalone"] and not discard:
                    raise DrbdFailure(f"{name}: Failure: (125) Device has a net-config (use disconnect first)",
                                      EXIT_NO_RESOURCE)
                node["standalone"] = False
                node["discard"] = discard
            elif action in ("invalidate-remote", "invalidate"):
                _require_up(res, me, name)
                if not res["connected"]:
                    raise DrbdFailure(f"{name}: State change failed: (-15) Need a connection to start verify or resync",
                                      EXIT_STATE_REFUSED)
                source = me if action == "invalidate-remote" else peer_of(res, me)
                _start_sync(res, source, res["size"], now)
            settle(res, now)
    return ""


def cmd_query(me: str, what: str, args: list[str], out: list[str]) -> None:
    now = time.time()
    with locked_state() as state:
        for name in _resource_names(state, args):
            res = _resource(state, name)
            settle(res, now)
            _require_up(res, me, name)
            v = local_view(res, me, now)
            if what == "role":
                out.append(f"{v['role']}\n")
            elif what == "cstate":
                out.append(f"{v['connection'] if v['replication'] in ('Off', 'Established') else v['replication']}\n")
            else:
                out.append(f"{v['disk']}/{v['peer_disk']}\n")


def cmd_proc(me: str, out: list[str]) -> None:
    now = time.time()
    with locked_state() as state:
        for name in sorted(state["resources"]):
            res = state["resources"][name]
            settle(res, now)
            _require_loaded(res, me)
            out.append(proc_drbd(res, local_view(res, me, now), res["nodes"][me]["up"]))


def main(argv: list[str]) -> int:
    tool = os.path.basename(argv[0])
    args = argv[1:]
    me = os.environ.get("DRBD_SIM_NODE") or socket.gethostname()
    out: list[str] = []
    # drbdadm accepts options before the command (e.g. `drbdadm -d up r0`); take the first bare word.
    words = [a for a in args if not a.startswith("-")]
    if not words:
        sys.stderr.write(f"USAGE: {tool} COMMAND [OPTION...] {{all|RESOURCE...}}\n")
        return EXIT_USAGE
    command = words[0]
    rest = list(args)
    rest.remove(command)
    try:
        if command == "dump" and tool == "drbdadm":
            if os.path.exists(REAL_DRBDADM):
                os.execv(REAL_DRBDADM, [REAL_DRBDADM, *args])
            raise DrbdFailure("drbdadm dump: drbd-utils is not installed", EXIT_USAGE)
        if command == "status":
            cmd_status(me, rest, out, tool)
        elif command == "events2" and tool == "drbdsetup":
            cmd_events2(me, rest, out)
        elif command in ("role", "cstate", "dstate") and tool == "drbdadm":
            cmd_query(me, command, rest, out)
        elif command == "proc":
            cmd_proc(me, out)
        elif command in ("up", "down", "primary", "secondary", "connect", "disconnect",
                         "invalidate", "invalidate-remote"):
            if "-d" in args or "--dry-run" in args:
                return 0
            cmd_change(me, command, rest)
        else:
            raise DrbdFailure(f"{tool}: unknown command '{command}' (hascreen lab DRBD simulator)", EXIT_USAGE)
    except DrbdFailure as failure:
        sys.stdout.write("".join(out))
        sys.stderr.write(f"{failure}\n")
        return failure.code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 0
    sys.stdout.write("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
