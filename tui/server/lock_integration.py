"""The lock, multi-user access and handoff, on the server side: `install_lock(server)` (called by the
composition root, tui.server.composition) registers, through the server's hooks (tui.server.hooks),

- the `lock` command (C-a x, `hascreen -X NAME lock`, and `lock.idle_timeout` from the user config): every
  attached display client becomes a locked client (the `frame_out` hook withholds its rows and answers its
  scrollback requests empty), gets a `lock` message and a cleared screen. Panes, health polling and
  procedures keep running — only what goes out to clients stops.
- the unlock handler. A client checks its own user's password through PAM (as that user: a server running
  as alice cannot check bob's password) and reports `{"t":"unlock","method":"pam","ok":true|false}`; the
  server trusts the kernel-verified peer uid (SO_PEERCRED) and its ACL. With `method: passphrase` the
  client sends the passphrase and the server checks it against the scrypt hash in its config. Wrong attempts
  are rate limited per uid here, so a restarted client does not reset the count; they are logged without
  what was typed.
- handoff: when a user other than the holder unlocks (a "full" user of the ACL), the session passes to them:
  `server.holder` changes (layout and welcome carry it), the audit log gets "handoff alice → bob", and the
  unlocking user receives a summary of what the server broadcast while the session was locked (health
  events, procedure runs, notices; the `broadcast` hook) — "nothing happened" when there was nothing.
- the ACL: `acl:` of the owner's config becomes `server.options.allowed_uids`, and the session's socket
  (and its directory) are opened to exactly those users with POSIX ACLs (tui.auth.socket_access).
- locked clients may only detach or unlock (the `message_received` hook refuses the rest); what read-only
  observers may do is the daemon's rule.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tui.auth import (
    AttemptLimiter,
    LockSettings,
    SocketAccessError,
    apply_socket_acl,
    default_pam_service,
    load_lock_settings,
    resolve_acl,
    verify_passphrase,
)
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
SUMMARY_LIMIT = 200  # events kept per kind while locked
SOCKET_WAIT = 10.0


@dataclass
class LockState:
    locked: bool = False
    by: str = ""
    since: float = 0.0
    health_events: list[str] = field(default_factory=list)
    procedures: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


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
        self.locked_clients: set[int] = set()  # client ids that get no pane contents
        self.limiter = AttemptLimiter(max_per_minute=settings.max_attempts_per_minute)
        self.pam_service = settings.pam_service or default_pam_service()
        self.audit = _audit_log()
        self._tasks: list[asyncio.Task] = []
        self._seen_health: set[str] = set()

    # ---- wiring ---------------------------------------------------------------------------------------
    def install(self) -> None:
        server = self.server
        uids, unknown = resolve_acl(self.settings.acl)
        for name in unknown:
            log.warning("acl: no local user %r; entry ignored", name)
        server.options.allowed_uids.update(uids)
        server.commands.register("lock", self.lock_command)
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
            clients = self.server.display_clients()
            if self.state.locked or not clients:
                continue
            idle = time.monotonic() - max(c.last_active for c in clients)
            if idle >= timeout:
                self.lock("idle timeout")

    # ---- hooks ------------------------------------------------------------------------------------------
    def welcome_extras(self, client: Client) -> dict[str, Any]:
        return {"locked": self.state.locked, "locked_by": self.state.by if self.state.locked else ""}

    def on_client_attached(self, client: Client) -> None:
        if self.state.locked:
            self.locked_clients.add(client.id)  # before the server sends its snapshot: no rows reach it
            client.send(self.lock_message())

    def on_client_detached(self, client: Client) -> None:
        self.locked_clients.discard(client.id)

    def on_broadcast(self, message: dict[str, Any]) -> None:
        # everything the server broadcasts while locked goes into the summary for whoever unlocks
        if self.state.locked:
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
    def lock_message(self, **extra: Any) -> dict[str, Any]:
        methods = ["pam"] + (["passphrase"] if self.settings.passphrase_hash else [])
        return {"t": "lock", "locked": self.state.locked, "by": self.state.by, "since": self.state.since,
                "holder": self.server.holder, "session": self.server.session.name, "methods": methods,
                "pam_service": self.pam_service, **extra}

    async def lock_command(self, client: Client | None, args: list[str]) -> Reply:
        if self.state.locked:
            return Reply(True, f"already locked by {self.state.by}")
        self.lock(client.user if client is not None else self.server.owner)
        return Reply(True, "locked")

    def lock(self, by: str) -> None:
        self.state = LockState(locked=True, by=by, since=time.time())
        self._seen_health.clear()
        log.info("session locked by %s", by)
        self._audit({"event": "lock", "who": by})
        message = self.lock_message()
        for client in self.server.display_clients():
            self.locked_clients.add(client.id)
            client.send(message)
            self._clear_screen(client)

    def _clear_screen(self, client: Client) -> None:
        # a full frame with no rows: the client drops every row it holds for each visible pane
        for pane_id, (_, _, w, h) in self.server.visible_panes().items():
            client.send({"t": "rows", "pane": pane_id, "rows": {}, "cursor": [0, 0, False], "full": True,
                         "throttled": False, "size": [w, h]})

    # ---- unlocking --------------------------------------------------------------------------------------
    async def unlock(self, client: Client, message: dict[str, Any]) -> None:
        if not self.state.locked:
            client.send(make_notice("the session is not locked"))
            return
        access = self.server.access_for(client.uid)
        if access != "full" or client.readonly:
            log.warning("unlock refused for %s (uid %d): %s access", client.user, client.uid, access)
            client.send(self.lock_message(error=f"{client.user} has read-only access and cannot unlock"))
            return
        wait = self.limiter.wait_for(client.uid)
        if wait > 0:
            log.warning("unlock attempt by %s (uid %d) refused: rate limited for %.0f s more",
                        client.user, client.uid, wait)
            client.send(self.lock_message(error=f"too many wrong attempts; wait {wait:.0f} s",
                                          retry_after=round(wait, 1)))
            return
        method = message.get("method")
        if method == "pam":
            verified = message.get("ok") is True
        elif method == "passphrase":
            verified = await self._check_passphrase(client, message.get("passphrase"))
            if verified is None:
                return
        else:
            client.send(self.lock_message(error=f"unknown unlock method {method!r} (pam or passphrase)"))
            return
        if not verified:
            wait = self.limiter.failure(client.uid)
            failures = self.limiter.failures_in_window(client.uid)
            log.warning("unlock failed for %s (uid %d) via %s: wrong password; %d failure(s) in the last "
                        "minute", client.user, client.uid, method, failures)
            self._audit({"event": "unlock-failed", "who": client.user, "method": method, "failures": failures})
            client.send(self.lock_message(error="wrong password", retry_after=round(wait, 1)))
            return
        self.limiter.success(client.uid)
        self._unlock(client, str(method))

    async def _check_passphrase(self, client: Client, passphrase: Any) -> bool | None:
        if not self.settings.passphrase_hash:
            client.send(self.lock_message(error="no lock passphrase is set for this session (hascreen passwd)"))
            return None
        if not isinstance(passphrase, str) or len(passphrase) > MAX_PASSPHRASE:
            return False
        return await asyncio.to_thread(verify_passphrase, passphrase, self.settings.passphrase_hash)

    def _unlock(self, client: Client, method: str) -> None:
        state = self.state
        previous = self.server.holder
        now = time.time()
        handoff = previous != client.user
        if handoff:
            self.server.holder = client.user
            text = f"handoff {previous} → {client.user}"
            log.info("%s (session %s, locked by %s since %s)", text, self.server.session.name, state.by,
                     time.strftime("%H:%M:%S", time.localtime(state.since)))
            self._audit({"event": "handoff", "who": client.user, "from": previous, "to": client.user,
                         "text": text, "locked_by": state.by, "locked_since": state.since, "method": method})
        else:
            log.info("session unlocked by %s", client.user)
            self._audit({"event": "unlock", "who": client.user, "method": method})
        health_events = list(state.health_events)
        for text in self._tracker_events(state.since):
            if text not in health_events:
                health_events.append(text)
        summary = {
            "locked_by": state.by, "since": state.since, "until": now, "unlocked_by": client.user,
            "handoff": {"from": previous, "to": client.user} if handoff else None,
            "health_events": health_events[:SUMMARY_LIMIT], "procedures": list(state.procedures),
            "notices": list(state.notices),
        }
        summary["nothing"] = not (summary["health_events"] or summary["procedures"] or summary["notices"])
        self.state = LockState()
        for other in self.server.display_clients():
            other.last_active = time.monotonic()  # or the idle watch would lock again at once
            self.locked_clients.discard(other.id)
            extra = {"summary": summary} if other is client else {}
            other.send(self.lock_message(unlocked_by=client.user, **extra))
            self.server.send_snapshot(other)
        if handoff:
            self.server.layout_changed()

    # ---- the summary --------------------------------------------------------------------------------------
    def _remember(self, message: dict[str, Any]) -> None:
        kind = message.get("t")
        state = self.state
        if kind == "health":
            for event in message.get("events") or []:
                when = event.get("time") if isinstance(event, dict) else None
                if isinstance(when, int | float) and when < state.since:
                    continue  # health messages repeat the recent events, older ones included
                text = _describe_event(event)
                if text and text not in self._seen_health and len(state.health_events) < SUMMARY_LIMIT:
                    self._seen_health.add(text)
                    state.health_events.append(text)
        elif kind == "procedure" and isinstance(message.get("run"), dict):
            run = message["run"]
            text = " ".join(str(run.get(k)) for k in ("name", "cluster", "state") if run.get(k))
            if text and (not state.procedures or state.procedures[-1] != text) and \
                    len(state.procedures) < SUMMARY_LIMIT:
                state.procedures.append(f"{time.strftime('%H:%M:%S')} {text}")
        elif kind == "notice" and len(state.notices) < SUMMARY_LIMIT:
            state.notices.append(f"{time.strftime('%H:%M:%S')} {message.get('text', '')}")

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
