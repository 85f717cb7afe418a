"""The lock screen and the handoff summary of the Textual client.

`LockScreen` covers the whole console while the server says the session is locked (the server has already
stopped sending pane rows and cleared them). It shows who locked the session and when, and asks for the
password of the user this client runs as: that user's own password is checked here through PAM (a process
can check only its own user's password), and only the verdict goes to the server, which trusts the
kernel-verified uid of this connection. Where PAM is not available and the session has a lock passphrase,
the passphrase itself is sent for the server to check against its scrypt hash. Nothing typed is kept or
logged; the input is cleared after every attempt.

`HandoffSummary` shows the unlocking user what happened while their client was locked, failed unlock
attempts included (and that the session is now theirs, on a handoff); the prefix key goes through it, so
`C-a d` still detaches. `apply_lock_message(app, message)` is the one call the app makes for a `lock`
message from the server. Each client is locked on its own: someone else's unlock never opens this one.

`begin_lock(app)` is what C-a x does: when the user could not unlock with their own password (no usable
password, as root with `*` on sudo systems, or no PAM) and the session has no lock passphrase, it first
asks for a one-time lock passphrase (`LockPassphrasePrompt`, twice, never echoed), as screen does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, Static

from tui.auth import AttemptLimiter, PamUnavailable, own_password_usable, verify_own_password
from tui.auth.pam_check import current_user
from tui.auth.passphrase import MIN_LENGTH
from tui.client.keys import decode_key
from tui.protocol.messages import make_command


def _clock(ts: Any) -> str:
    try:
        return time.strftime("%H:%M:%S", time.localtime(float(ts)))
    except (TypeError, ValueError, OverflowError):
        return "?"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class LockScreen(Screen[None], inherit_bindings=False):
    DEFAULT_CSS = """
    LockScreen { align: center middle; background: $background; }
    LockScreen > Vertical { width: 80; height: auto; border: heavy $error; padding: 1 2; background: $surface; }
    LockScreen #lock-title { text-style: bold; color: $error; }
    LockScreen Label { width: 1fr; }
    LockScreen #lock-who { margin-bottom: 1; }
    LockScreen Input { margin-top: 1; }
    LockScreen #lock-error { color: $error; height: auto; }
    LockScreen #lock-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("ctrl+d", "detach", "detach", priority=True)]

    def __init__(self, message: dict[str, Any], send: Callable[[dict[str, Any]], None],
                 verify: Callable[[str, str | None], bool] = verify_own_password, user: str | None = None,
                 password_usable: Callable[[str | None], bool] = own_password_usable) -> None:
        super().__init__()
        self.message = message
        self.send_message = send
        self.verify = verify
        self.password_usable = password_usable
        self.own_password = True  # until the check on mount says this user has none to unlock with
        self.own_password_checked = asyncio.Event()
        self.user = user or current_user()
        self.limiter = AttemptLimiter()
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("", id="lock-title")
            yield Label("", id="lock-who")
            yield Label("", id="lock-prompt")
            yield Input(password=True, id="lock-password", placeholder="password")
            yield Static("", id="lock-error")
            yield Static("", id="lock-hint")

    def on_mount(self) -> None:
        self.update_from(self.message)
        self.query_one(Input).focus()
        self.run_worker(self._check_own_password(), exclusive=True)

    async def _check_own_password(self) -> None:
        try:
            usable = await asyncio.to_thread(self.password_usable, self.message.get("pam_service") or None)
            if not usable:
                self.own_password = False
                self.update_from({})
        finally:
            self.own_password_checked.set()

    # ---- what the server says ---------------------------------------------------------------------------
    @property
    def methods(self) -> list[str]:
        methods = self.message.get("methods")
        return [m for m in methods if isinstance(m, str)] if isinstance(methods, list) else ["pam"]

    def update_from(self, message: dict[str, Any]) -> None:
        self.message = {**self.message, **message}
        session = self.message.get("session") or "this session"
        self.query_one("#lock-title", Label).update(f"Session {session} is locked")
        since = self.message.get("since") or time.time()
        who = f"locked by {self.message.get('by') or '?'} at {_clock(since)}"
        age = time.time() - float(since) if isinstance(since, int | float) else 0
        holder = self.message.get("holder") or "?"
        self.query_one("#lock-who", Label).update(f"{who} ({_duration(age)} ago) · held by {holder}")
        way = "your own password" if self.use_pam else "the lock passphrase"
        self.query_one("#lock-prompt", Label).update(f"Unlock as {self.user} with {way}:")
        hint = "Ctrl-D detaches; the session keeps running."
        if holder != self.user:
            hint = f"Unlocking takes the session over from {holder} (handoff, audited). " + hint
        if not self.own_password and "passphrase" not in self.methods:
            hint = (f"{self.user} has no usable password here to unlock with; the session's owner can end the "
                    f"lock with `hascreen -X {session} unlock`. " + hint)
        self.query_one("#lock-hint", Static).update(hint)
        self.show_error(str(message.get("error") or ""))
        if message.get("error"):
            self.busy = False

    @property
    def use_pam(self) -> bool:
        return "pam" in self.methods and (self.own_password or "passphrase" not in self.methods)

    def show_error(self, text: str) -> None:
        self.query_one("#lock-error", Static).update(Text(text))

    # ---- attempts ---------------------------------------------------------------------------------------
    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        password = event.value
        event.input.value = ""  # nothing typed stays on screen or in the widget
        if self.busy or not password:
            return
        wait = self.limiter.wait_for(self.user)
        if wait > 0:
            self.show_error(f"too many wrong attempts; wait {wait:.0f} s")
            return
        self.busy = True
        self.show_error("checking…")
        with contextlib.suppress(TimeoutError):  # typed before the check ended: password or passphrase?
            await asyncio.wait_for(self.own_password_checked.wait(), 10)
        if self.use_pam:
            try:
                ok = await asyncio.to_thread(self.verify, password, self.message.get("pam_service") or None)
            except PamUnavailable as exc:
                if "passphrase" not in self.methods:
                    self.busy = False
                    self.show_error(f"cannot check passwords here: {exc}")
                    return
                self.message["methods"] = ["passphrase"]
                self.update_from({})
            else:
                if not ok:
                    self.limiter.failure(self.user)
                else:
                    self.limiter.success(self.user)
                # the verdict only; the server counts failures per uid and decides
                self.send_message({"t": "unlock", "method": "pam", "ok": ok})
                if not ok:
                    self.busy = False
                    self.show_error("wrong password")
                return
        self.send_message({"t": "unlock", "method": "passphrase", "passphrase": password})

    def action_detach(self) -> None:
        self.send_message({"t": "command", "name": "detach", "args": []})


class HandoffSummary(ModalScreen[None]):
    DEFAULT_CSS = """
    HandoffSummary { align: center middle; }
    HandoffSummary > Vertical { width: 76; height: auto; max-height: 90%; border: round $accent; padding: 0 1;
                                background: $surface; }
    HandoffSummary #summary-title { text-style: bold; margin-bottom: 1; }
    HandoffSummary VerticalScroll { height: auto; max-height: 20; }
    HandoffSummary #summary-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "close", "close"), Binding("enter", "close", "close"),
                Binding("q", "close", show=False)]

    def __init__(self, summary: dict[str, Any], prefix_byte: int | None = None) -> None:
        super().__init__()
        self.summary = summary
        self.prefix_byte = prefix_byte  # the keymap's prefix: it closes the summary and goes on to the app

    def on_key(self, event: Any) -> None:
        if self.prefix_byte is None:
            return
        decoded = decode_key(bytes([self.prefix_byte]))
        if event.key == (decoded[0] if decoded else None) or event.character == chr(self.prefix_byte):
            event.stop()
            event.prevent_default()
            self.dismiss(None)
            feed = getattr(self.app, "feed_pane_bytes", None)
            if feed is not None:
                feed(bytes([self.prefix_byte]))  # the key after it (C-a d) reaches the prefix machine

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text(), id="summary-title")
            with VerticalScroll():
                yield Static(self.body())
            yield Label("Enter or Esc closes", id="summary-hint")

    def title_text(self) -> str:
        handoff = self.summary.get("handoff")
        if isinstance(handoff, dict):
            return f"Handoff {(handoff.get('from') or '?')} → {(handoff.get('to') or '?')}: the session is yours now"
        return f"Unlocked by {self.summary.get('unlocked_by') or '?'}"

    def body(self) -> Text:
        summary = self.summary
        since, until = summary.get("since"), summary.get("until")
        text = Text()
        span = ""
        if isinstance(since, int | float) and isinstance(until, int | float):
            span = f" ({_duration(until - since)})"
        text.append(f"Locked by {summary.get('locked_by') or '?'} from {_clock(since)} to {_clock(until)}{span}.\n")
        kinds = (("failed_attempts", "Failed unlock attempts"), ("health_events", "Health events"),
                 ("procedures", "Procedures run"), ("notices", "Messages"))
        if summary.get("nothing") or not any(summary.get(key) for key, _ in kinds):
            text.append("\nNothing happened while the session was locked.", style="green")
            return text
        for key, title in kinds:
            items = [str(item) for item in summary.get(key) or []]
            if not items:
                continue  # only what happened; "nothing happened" covers the rest
            text.append(f"\n{title} while locked: ", style="bold")
            text.append(f"{len(items)}\n")
            for item in items:
                style = "red" if key == "failed_attempts" or "crit" in item.lower() or "fail" in item.lower() else ""
                text.append(f"  • {item}\n", style=style)
        return text

    def action_close(self) -> None:
        self.dismiss(None)


def apply_lock_message(app: App[Any], message: dict[str, Any]) -> None:
    """Show, update or take down the lock screen for a `lock` message from the server."""
    locks = [screen for screen in app.screen_stack if isinstance(screen, LockScreen)]
    if message.get("locked"):
        if locks:
            locks[-1].update_from(message)
        else:
            app.push_screen(LockScreen(message, send=app.send))  # type: ignore[attr-defined]
        return
    while isinstance(app.screen, LockScreen):
        app.pop_screen()
    summary = message.get("summary")
    if isinstance(summary, dict):
        machine = getattr(app, "machine", None)
        app.push_screen(HandoffSummary(summary, getattr(machine, "prefix_byte", None)))


def begin_lock(app: App[Any], password_usable: Callable[[str | None], bool] = own_password_usable) -> None:
    """C-a x: lock, after asking for a one-time passphrase if this user could not unlock otherwise."""
    app.run_worker(_begin_lock(app, password_usable), group="lock")


async def _begin_lock(app: App[Any], password_usable: Callable[[str | None], bool]) -> None:
    welcome = getattr(app, "welcome", {}) or {}
    methods = welcome.get("lock_methods") or ["pam"]
    if getattr(app, "readonly", False) or "passphrase" in methods or \
            await asyncio.to_thread(password_usable, welcome.get("pam_service") or None):
        app.send(make_command("lock"))  # type: ignore[attr-defined]
        return

    def chosen(passphrase: str | None) -> None:
        if passphrase:
            app.send({"t": "lock", "passphrase": passphrase})  # type: ignore[attr-defined]
        else:
            app.show_notice("not locked")  # type: ignore[attr-defined]

    app.push_screen(LockPassphrasePrompt(current_user()), chosen)


class LockPassphrasePrompt(ModalScreen[str | None]):
    """Asks twice, without echo, for a passphrase that unlocks this one lock (kept by the server as a hash)."""

    DEFAULT_CSS = """
    LockPassphrasePrompt { align: center middle; }
    LockPassphrasePrompt > Vertical { width: 80; height: auto; border: heavy $warning; padding: 1 2;
                                      background: $surface; }
    LockPassphrasePrompt #passphrase-title { text-style: bold; }
    LockPassphrasePrompt Label { width: 1fr; }
    LockPassphrasePrompt Input { margin-top: 1; }
    LockPassphrasePrompt #passphrase-error { color: $error; height: auto; }
    LockPassphrasePrompt #passphrase-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, user: str) -> None:
        super().__init__()
        self.user = user
        self.first: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Lock passphrase", id="passphrase-title")
            yield Label(f"{self.user} has no usable password to unlock with here. Choose a passphrase for "
                        f"this lock (at least {MIN_LENGTH} characters); it is forgotten when the lock ends.",
                        id="passphrase-explain")
            yield Label("Passphrase:", id="passphrase-prompt")
            yield Input(password=True, id="passphrase-input")
            yield Static("", id="passphrase-error")
            yield Static("Esc: do not lock", id="passphrase-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value
        event.input.value = ""
        error = self.query_one("#passphrase-error", Static)
        prompt = self.query_one("#passphrase-prompt", Label)
        if self.first is None:
            if len(value) < MIN_LENGTH:
                error.update(f"at least {MIN_LENGTH} characters, please")
                return
            self.first = value
            prompt.update("Again:")
            error.update("")
            return
        if value != self.first:
            self.first = None
            prompt.update("Passphrase:")
            error.update("the two differ; choose it again")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
