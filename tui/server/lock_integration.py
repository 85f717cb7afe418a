"""The lock, multi-user access and handoff, on the server side: `install_lock(server)` (called by the
composition root, tui.server.composition) registers, through the server's hooks (tui.server.hooks),

- the `lock` command (C-a x, `hascreen -X NAME lock`, and `lock.idle_timeout` from the user config), and the
  `lock` message a client sends instead when its user could not unlock with their own password: it carries
  a one-time lock passphrase (as screen asks for one), kept only as an scrypt hash until the lock ends.
  Every attached display client becomes a locked client (the `frame_out` hook withholds its rows and
  answers its scrollback requests empty), gets a `lock` message and a cleared screen. Panes, health polling
  and procedures keep running — only what goes out to clients stops.
- unlocking, per client: an unlock opens only the client that unlocked; the others stay locked (and are
  told who holds the session now) until their own user unlocks them or they are detached. A client checks
  its own user's password through PAM (as that user: a server running as alice cannot check bob's password)
  and reports `{"t":"unlock","method":"pam","ok":true|false}`; the server trusts the kernel-verified peer
  uid (SO_PEERCRED) and its ACL. With `method: passphrase` the client sends the passphrase and the server
  checks it against the scrypt hash in its config (re-read when the file changes, so `hascreen passwd`
  takes effect at once) or the lock's one-time passphrase. Wrong attempts are rate limited per uid here, so
  a restarted client does not reset the count; they are logged and audited without what was typed.
- `hascreen -X NAME unlock`: a control connection of the owner's uid ends the lock of the owner's own
  clients, after the CLI checked the password or passphrase on its terminal (`method: uid` when the owner
  has neither: the uid alone, which the kernel vouches for, is then enough — a lock never shuts its owner
  out for good).
- handoff: when a user other than the holder unlocks (a "full" user of the ACL), the session passes to them:
  `server.holder` changes (layout and welcome carry it), the audit log gets "handoff alice → bob", and the
  unlocking user receives a summary of what happened since their client was locked (health events,
  procedure runs, notices from the `broadcast` hook, and failed unlock attempts) — "nothing happened" when
  there was nothing.
- the ACL: `acl:` of the owner's config becomes `server.options.allowed_uids`, and the session's socket
  (and its directory) are opened to exactly those users with POSIX ACLs (tui.auth.socket_access).
- locked clients may only detach or unlock (the `message_received` hook refuses the rest); what read-only
  observers may do is the daemon's rule.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.auth import (
    AttemptLimiter,
    LockSettings,
    SocketAccessError,
    apply_socket_acl,
    default_pam_service,
    hash_passphrase,
    load_lock_settings,
    resolve_acl,
    verify_passphrase,
)
from tui.auth.passphrase import MIN_LENGTH
from tui.config.errors import ConfigErrors
from tui.protocol.messages import make_notice
from tui.server.hooks import Reply

if TYPE_CHECKING:
    from tui.health.tracker import HealthTracker
    from tui.server.clients import Client
    from tui.server.daemon import Server

log = logging.getLogger("hascreen.server.lock")

LOCKED_COMMANDS = frozenset({"detach"})
MAX_PASSPHRASE = 1024
SUMMARY_LIMIT = 200  # entries kept per kind for the summary
SOCKET_WAIT = 10.0


@dataclass
class LockState:
    """The session-level lock: set by a lock, ended by the first unlock (clients attaching meanwhile are
    locked too). Which clients are locked is `LockIntegration.locked_clients`."""

    locked: bool = False
    by: str = ""
    since: float = 0.0


@dataclass(frozen=True)
class ClientLock:
    by: str
    since: float


@dataclass(frozen=True)
class Happening:
    """Something the summary reports: when, what kind (health, procedure, notice, failed) and the text."""

    time: float
    kind: str
    text: str


def _audit_log() -> Any:
    from tui.procedures.audit import AuditLog

    return AuditLog()


class LockIntegration:
    def __init__(self, server: Server, settings: LockSettings,
                 tracker: Callable[[], HealthTracker | None] = lambda: None) -> None:
        self.server = server
        self.settings = settings
        self.tracker = tracker  # where the health integration keeps its timeline, if there is one
        self.state = LockState()
        self.locked_clients: dict[int, ClientLock] = {}  # client id → its lock; they get no pane contents
        self.happenings: deque[Happening] = deque(maxlen=4 * SUMMARY_LIMIT)  # while anything is locked
        self.one_time_hash: str | None = None  # the lock passphrase asked for at C-a x, until the lock ends
        self.limiter = AttemptLimiter(max_per_minute=settings.max_attempts_per_minute)
        self.pam_service = settings.pam_service or default_pam_service()
        self.audit = _audit_log()
        self._tasks: list[asyncio.Task] = []
        self._seen_health: set[str] = set()
        self._config_stamp = _file_stamp(settings.source)

    # ---- wiring ---------------------------------------------------------------------------------------
    def install(self) -> None:
        server = self.server
        uids, unknown = resolve_acl(self.settings.acl)
        for name in unknown:
            log.warning("acl: no local user %r; entry ignored", name)
        server.options.allowed_uids.update(uids)
        server.commands.register("lock", self.lock_command)
        server.handle_message("lock", self.lock_request)
        server.handle_message("unlock", self.unlock)
        hooks = server.hooks
        hooks.message_received.register(self.refusal)
        hooks.frame_out.register(self.frame_out)
        hooks.welcome.register(self.welcome_extras)
        hooks.client_attached.register(self.on_client_attached)
        hooks.client_detached.register(self.on_client_detached)
        hooks.broadcast.register(self.on_broadcast)
        hooks.stopping.register(self.close)
        loop = asyncio.get_running_loop()
        if uids:
            self._tasks.append(loop.create_task(self._share_socket(uids)))
        if self.settings.idle_timeout > 0:
            self._tasks.append(loop.create_task(self._idle_watch(self.settings.idle_timeout)))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _share_socket(self, uids: dict[int, str]) -> None:
        path = self.server.options.socket_path
        deadline = time.monotonic() + SOCKET_WAIT
        while not path.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        try:
            await asyncio.to_thread(apply_socket_acl, path.parent, uids, [path])
        except (SocketAccessError, OSError) as exc:
            log.error("cannot open the session to the ACL's users: %s", exc)
            return
        log.info("socket %s opened to uids %s", path, ", ".join(f"{u} ({lvl})" for u, lvl in sorted(uids.items())))

    async def _idle_watch(self, timeout: float) -> None:
        interval = max(0.2, min(5.0, timeout / 4))
        while True:
            await asyncio.sleep(interval)
            active = [c for c in self.server.display_clients() if c.id not in self.locked_clients]
            if self.state.locked or not active:
                continue
            idle = time.monotonic() - max(c.last_active for c in active)
            if idle >= timeout:
                self.lock("idle timeout")

    # ---- the passphrase: `hascreen passwd` may change it while the server runs ----------------------------
    def passphrase_hashes(self) -> list[str]:
        source = self.settings.source
        stamp = _file_stamp(source)
        if source is not None and stamp != self._config_stamp:
            self._config_stamp = stamp
            try:
                fresh = load_lock_settings(source)
            except (ConfigErrors, OSError) as exc:
                log.error("config changed but cannot be read; the lock passphrase stays as it was:\n%s", exc)
            else:
                if fresh.passphrase_hash != self.settings.passphrase_hash:
                    log.info("lock passphrase %s in %s", "changed" if fresh.passphrase_hash else "removed", source)
                    self._audit({"event": "passphrase-reread", "who": self.server.owner,
                                 "set": bool(fresh.passphrase_hash)})
                self.settings = dataclasses.replace(self.settings, passphrase_hash=fresh.passphrase_hash)
        return [h for h in (self.settings.passphrase_hash, self.one_time_hash) if h]

    def methods(self) -> list[str]:
        return ["pam"] + (["passphrase"] if self.passphrase_hashes() else [])

    # ---- hooks ------------------------------------------------------------------------------------------
    def welcome_extras(self, client: Client) -> dict[str, Any]:
        return {"locked": self.state.locked, "locked_by": self.state.by if self.state.locked else "",
                "lock_methods": self.methods(), "pam_service": self.pam_service}

    def on_client_attached(self, client: Client) -> None:
        if self.state.locked:
            # before the server sends its snapshot: no rows reach it
            record = self.locked_clients[client.id] = ClientLock(self.state.by, self.state.since)
            client.send(self.lock_message(record))

    def on_client_detached(self, client: Client) -> None:
        self.locked_clients.pop(client.id, None)
        self._forget_when_nothing_locked()

    def on_broadcast(self, message: dict[str, Any]) -> None:
        # what the server broadcasts while anything is locked goes into the summaries of those who unlock
        if self.state.locked or self.locked_clients:
            self._remember(message)

    def frame_out(self, message: dict[str, Any], client: Client) -> dict[str, Any] | None:
        if client.id not in self.locked_clients:
            return message
        if message.get("t") == "scrollback":  # no pane contents while locked, not even history
            return {"t": "scrollback", "pane": message.get("pane"), "start": 0, "total": 0, "lines": []}
        return None

    def refusal(self, client: Client, message: dict[str, Any]) -> str | None:
        if client.id in self.locked_clients and not (
                message.get("t") == "command" and message.get("name") in LOCKED_COMMANDS):
            return "locked: unlock first"
        return None

    # ---- locking ----------------------------------------------------------------------------------------
    def lock_message(self, record: ClientLock | None, **extra: Any) -> dict[str, Any]:
        """The `lock` message for one client: locked (with who and since) or not."""
        return {"t": "lock", "locked": record is not None, "by": record.by if record else self.state.by,
                "since": record.since if record else self.state.since, "holder": self.server.holder,
                "session": self.server.session.name, "methods": self.methods(), "pam_service": self.pam_service,
                **extra}

    async def lock_command(self, client: Client | None, args: list[str]) -> Reply:
        if self.state.locked:
            return Reply(True, f"already locked by {self.state.by}")
        self.lock(client.user if client is not None else self.server.owner)
        return Reply(True, "locked")

    async def lock_request(self, client: Client, message: dict[str, Any]) -> None:
        """`{"t":"lock","passphrase":…}`: lock with a one-time passphrase, from a client whose user has no
        usable password (screen asks for a lock password then too)."""
        if client.readonly or self.server.access_for(client.uid) != "full":
            client.send(make_notice("read-only: you cannot lock the session", "warn"))
            return
        if client.id in self.locked_clients:
            client.send(make_notice("locked: unlock first", "warn"))
            return
        passphrase = message.get("passphrase")
        if not isinstance(passphrase, str) or not MIN_LENGTH <= len(passphrase) <= MAX_PASSPHRASE:
            client.send(make_notice(f"the lock passphrase must have {MIN_LENGTH} to {MAX_PASSPHRASE} characters; "
                                    f"not locked", "warn"))
            return
        if self.state.locked:
            client.send(make_notice(f"already locked by {self.state.by}"))
            return
        digest = await asyncio.to_thread(hash_passphrase, passphrase)
        self.one_time_hash = digest
        self.lock(client.user, one_time=True)

    def lock(self, by: str, one_time: bool = False) -> None:
        if self.state.locked:
            return
        self.state = LockState(locked=True, by=by, since=time.time())
        if not self.locked_clients:
            self._seen_health.clear()
        log.info("session locked by %s%s", by, " with a one-time passphrase" if one_time else "")
        self._audit({"event": "lock", "who": by, **({"one_time_passphrase": True} if one_time else {})})
        for client in self.server.display_clients():
            record = self.locked_clients.get(client.id)
            if record is None:
                self.server.end_paste(client)  # its remaining parts would be refused: close the bracket now
                record = self.locked_clients[client.id] = ClientLock(by, self.state.since)
                client.send(self.lock_message(record))
                self._clear_screen(client)

    def _clear_screen(self, client: Client) -> None:
        # a full frame with no rows: the client drops every row it holds for each visible pane
        for pane_id, (_, _, w, h) in self.server.visible_panes().items():
            client.send({"t": "rows", "pane": pane_id, "rows": {}, "cursor": [0, 0, False], "full": True,
                         "throttled": False, "size": [w, h]})

    # ---- unlocking --------------------------------------------------------------------------------------
    async def unlock(self, client: Client, message: dict[str, Any]) -> None:
        if not client.is_display:
            await self._unlock_from_control(client, message)
            return
        record = self.locked_clients.get(client.id)
        if record is None:
            client.send(make_notice("the session is not locked"))
            return
        access = self.server.access_for(client.uid)
        if access != "full" or client.readonly:
            client.warn("unlock refused (uid %d): %s access", client.uid, access)  # rate-limited
            client.send(self.lock_message(record, error=f"{client.user} has read-only access and cannot unlock"))
            return
        verified = await self._verify(client, message, record)
        if verified is None:
            return
        self._unlock([client], client, str(message.get("method")))

    async def _verify(self, client: Client, message: dict[str, Any], record: ClientLock | None) -> bool | None:
        """True when the attempt is good; None when it was refused (and answered) without a verdict."""
        wait = self.limiter.wait_for(client.uid)
        if wait > 0:
            client.warn("unlock attempt (uid %d) refused: rate limited for %.0f s more", client.uid, wait)
            client.send(self.lock_message(record, error=f"too many wrong attempts; wait {wait:.0f} s",
                                          retry_after=round(wait, 1)))
            return None
        method = message.get("method")
        if method == "pam":
            verified = message.get("ok") is True
        elif method == "passphrase":
            verified = await self._check_passphrase(client, message.get("passphrase"), record)
            if verified is None:
                return None
        elif method == "uid" and not client.is_display and client.uid == self.server.owner_uid:
            verified = True  # the owner has no usable password or passphrase: the kernel-checked uid suffices
        else:
            client.send(self.lock_message(record, error=f"unknown unlock method {method!r} (pam or passphrase)"))
            return None
        if not verified:
            wait = self.limiter.failure(client.uid)
            failures = self.limiter.failures_in_window(client.uid)
            log.warning("unlock failed for %s (uid %d) via %s: wrong password; %d failure(s) in the last "
                        "minute", client.user, client.uid, method, failures)
            self._audit({"event": "unlock-failed", "who": client.user, "method": method, "failures": failures,
                         **({} if client.is_display else {"via": "hascreen -X unlock"})})
            self._note("failed", f"{client.user} failed to unlock ({method})")
            client.send(self.lock_message(record, error="wrong password", retry_after=round(wait, 1)))
            return None
        self.limiter.success(client.uid)
        return True

    async def _unlock_from_control(self, client: Client, message: dict[str, Any]) -> None:
        """`hascreen -X NAME unlock`: the owner ends the lock of their own clients."""
        if client.uid != self.server.owner_uid:
            client.warn("unlock from a control connection (uid %d) refused: only the owner may", client.uid)
            client.send(self.lock_message(None, error=f"only {self.server.owner} may end the lock from the "
                                                      f"command line"))
            return
        own = [c for c in self.server.display_clients() if c.id in self.locked_clients and c.uid == client.uid]
        if not own and not self.state.locked:
            client.send(self.lock_message(None, error="the session is not locked"))
            return
        if await self._verify(client, message, None) is None:
            return
        self._unlock(own, client, f"{message.get('method')} via hascreen -X unlock")
        client.send(self.lock_message(None, unlocked_by=client.user, unlocked=len(own)))

    async def _check_passphrase(self, client: Client, passphrase: Any, record: ClientLock | None) -> bool | None:
        hashes = self.passphrase_hashes()
        if not hashes:
            client.send(self.lock_message(record, error="no lock passphrase is set for this session "
                                                        "(hascreen passwd)"))
            return None
        if not isinstance(passphrase, str) or len(passphrase) > MAX_PASSPHRASE:
            return False
        for encoded in hashes:
            if await asyncio.to_thread(verify_passphrase, passphrase, encoded):
                return True
        return False

    def _unlock(self, clients: list[Client], unlocker: Client, method: str) -> None:
        """Open `clients` (and only them) for the user of `unlocker`; the session passes to that user."""
        previous = self.server.holder
        state = self.state
        handoff = previous != unlocker.user
        if handoff:
            self.server.holder = unlocker.user
            text = f"handoff {previous} → {unlocker.user}"
            log.info("%s (session %s, locked by %s)", text, self.server.session.name, state.by or "?")
            self._audit({"event": "handoff", "who": unlocker.user, "from": previous, "to": unlocker.user,
                         "text": text, "locked_by": state.by, "locked_since": state.since, "method": method})
        else:
            log.info("unlocked by %s (%d client(s), %s)", unlocker.user, len(clients), method)
            self._audit({"event": "unlock", "who": unlocker.user, "method": method, "clients": len(clients)})
        self.state = LockState()  # the session is in use again; clients that attach now are not locked
        for client in clients:
            record = self.locked_clients.pop(client.id, None)
            if record is None:
                continue
            client.last_active = time.monotonic()  # or the idle watch would lock again at once
            summary = self._summary(record, unlocker.user, previous if handoff else None)
            client.send(self.lock_message(None, unlocked_by=unlocker.user, summary=summary))
            self.server.send_snapshot(client)
        for other in self.server.display_clients():  # still locked: they learn who holds the session now
            record = self.locked_clients.get(other.id)
            if record is not None and handoff:
                other.send(self.lock_message(record))
        self._forget_when_nothing_locked()
        if handoff:
            self.server.layout_changed()

    def _forget_when_nothing_locked(self) -> None:
        if not self.locked_clients and not self.state.locked:
            self.happenings.clear()
            self._seen_health.clear()
            self.one_time_hash = None

    # ---- the summary --------------------------------------------------------------------------------------
    def _summary(self, record: ClientLock, unlocked_by: str, handed_from: str | None) -> dict[str, Any]:
        since = record.since
        kinds: dict[str, list[str]] = {"health": [], "procedure": [], "notice": [], "failed": []}
        for happening in self.happenings:
            if happening.time >= since and len(kinds[happening.kind]) < SUMMARY_LIMIT:
                kinds[happening.kind].append(happening.text)
        health_events = kinds["health"]
        for text in self._tracker_events(since):
            if text not in health_events and len(health_events) < SUMMARY_LIMIT:
                health_events.append(text)
        summary = {
            "locked_by": record.by, "since": since, "until": time.time(), "unlocked_by": unlocked_by,
            "handoff": {"from": handed_from, "to": unlocked_by} if handed_from else None,
            "health_events": health_events, "procedures": kinds["procedure"], "notices": kinds["notice"],
            "failed_attempts": kinds["failed"],
        }
        summary["nothing"] = not any(summary[k] for k in ("health_events", "procedures", "notices",
                                                          "failed_attempts"))
        return summary

    # ---- the summary --------------------------------------------------------------------------------------
    def _remember(self, message: dict[str, Any]) -> None:
        kind = message.get("t")
        if kind == "health":
            earliest = min([r.since for r in self.locked_clients.values()] + ([self.state.since] if self.state.locked
                                                                              else []), default=time.time())
            for event in message.get("events") or []:
                when = event.get("time") if isinstance(event, dict) else None
                if isinstance(when, int | float) and when < earliest:
                    continue  # health messages repeat the recent events, older ones included
                text = _describe_event(event)
                if text and text not in self._seen_health:
                    self._seen_health.add(text)
                    self._note("health", text, when if isinstance(when, int | float) else None)
        elif kind == "procedure" and isinstance(message.get("run"), dict):
            run = message["run"]
            text = " ".join(str(run.get(k)) for k in ("name", "cluster", "state") if run.get(k))
            last = next((h for h in reversed(self.happenings) if h.kind == "procedure"), None)
            if text and (last is None or not last.text.endswith(f" {text}")):
                self._note("procedure", text)
        elif kind == "notice":
            self._note("notice", str(message.get("text", "")))

    def _note(self, kind: str, text: str, when: float | None = None) -> None:
        now = time.time() if when is None else when
        stamp = "" if kind == "health" else f"{time.strftime('%H:%M:%S', time.localtime(now))} "
        self.happenings.append(Happening(now, kind, f"{stamp}{text}"[:300]))

    def _tracker_events(self, since: float) -> list[str]:
        """State changes the health tracker recorded since the lock."""
        tracker = self.tracker()
        if tracker is None:
            return []
        return [f"{time.strftime('%H:%M:%S', time.localtime(event.time))} {event.describe()}"
                for event in list(tracker.events) if event.time >= since]

    def _audit(self, record: dict[str, Any]) -> None:
        record = {"session": self.server.session.name, "owner": self.server.owner, **record}
        try:
            self.audit.write(record)
        except OSError as exc:
            log.error("cannot write the audit log %s: %s", self.audit.path, exc)


def _describe_event(event: Any) -> str:
    if isinstance(event, str):
        return event
    if isinstance(event, dict):
        if {"cluster", "node", "layer", "new"} <= event.keys():  # tui.health.tracker.HealthEvent.to_dict()
            where = "/".join(str(event[k]) for k in ("cluster", "node", "layer", "subject") if event.get(k))
            when = event.get("time")
            stamp = time.strftime("%H:%M:%S ", time.localtime(when)) if isinstance(when, int | float) else ""
            reason = f": {event['reason']}" if event.get("reason") else ""
            return f"{stamp}{where}: {event.get('old') or 'new'}→{event['new']}{reason}"
        for key in ("text", "message", "summary"):
            if isinstance(event.get(key), str):
                return event[key]
        return json.dumps(event, sort_keys=True, default=str)[:300]
    return str(event)[:300]


def install_lock(server: Server, tracker: Callable[[], HealthTracker | None] = lambda: None) -> LockIntegration:
    try:
        settings = load_lock_settings()
    except ConfigErrors as exc:
        # the safe side: nobody else may attach, PAM with the default service
        log.error("config errors; the lock uses defaults and the ACL is empty:\n%s", exc)
        settings = LockSettings()
    integration = LockIntegration(server, settings, tracker)
    integration.install()
    log.info("lock installed: PAM service %s, idle timeout %s, acl %s", integration.pam_service,
             settings.idle_timeout or "off", settings.acl or "none")
    return integration


def _file_stamp(path: Any) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path) if path is not None else None
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size) if info else None
