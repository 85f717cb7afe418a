"""The client's small UI elements, each a modal screen that returns a value through dismiss():

- WindowList: windows of the session, arrows + Enter (screen's C-a ").
- Prompt: one line of input with Tab completion (C-a ', A, :, and the ssh prompt).
- Confirm: a y/n question ("Really kill this window [y/n]").
- HelpScreen: every binding of the loaded keymap with its note (C-a ?), and screen's command names.
- MessageBox: a message too long or too structured for the status line (an SSH host-key refusal with
  its fingerprint and the exact command that fixes it), shown whole.

While one of these is open the app routes terminal bytes through tui.client.keys into Textual key events,
so they behave like any Textual widget.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.commands import SCREEN_ALIASES


class WindowList(ModalScreen[int | None]):
    DEFAULT_CSS = """
    WindowList { align: center middle; }
    WindowList > Vertical { width: 60; height: auto; max-height: 80%; border: round $accent; background: $surface;
                            border-title-align: left; border-subtitle-align: right; }
    WindowList OptionList, WindowList OptionList:focus { height: auto; max-height: 20; border: none; padding: 0; }
    """
    BINDINGS = [Binding("escape", "cancel", "close"), Binding("q", "cancel", show=False)]

    def __init__(self, windows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.windows = windows

    @staticmethod
    def _options(windows: list[dict[str, Any]]) -> list[Option]:
        return [Option(f"{window.get('index')}{'*' if window.get('active') else ' '} {(window.get('name') or '')}"
                       f"  {window.get('title') or ''}", id=f"w{window.get('index')}")
                for window in windows]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Num Name"
            box.border_subtitle = "Enter selects · Esc leaves"
            yield OptionList(*self._options(self.windows))

    def update_windows(self, windows: list[dict[str, Any]]) -> None:
        """The server's windows changed while the list is open (one closed, one renamed): show them."""
        option_list = self.query_one(OptionList)
        index = option_list.highlighted
        chosen = option_list.get_option_at_index(index).id if index is not None else None
        self.windows = windows
        option_list.clear_options()
        option_list.add_options(self._options(windows))
        ids = [f"w{window.get('index')}" for window in windows]
        if ids:  # the highlight stays on the same window when it still exists
            option_list.highlighted = ids.index(chosen) if chosen in ids else min(index or 0, len(ids) - 1)

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        active = next((i for i, window in enumerate(self.windows) if window.get("active")), 0)
        option_list.highlighted = active
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id[1:]) if event.option.id else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def longest_common_prefix(words: list[str]) -> str:
    return os.path.commonprefix(words) if words else ""


class Prompt(ModalScreen[str | None]):
    """A one-line prompt at the bottom, like screen's. `complete(text)` returns candidate full lines."""

    DEFAULT_CSS = """
    Prompt { align: left bottom; background: $background 0%; }
    Prompt > Vertical { height: auto; width: 1fr; background: $surface; }
    Prompt #candidates { height: auto; max-height: 6; color: $text-muted; }
    Prompt #prompt-line { height: 1; }
    Prompt #prompt-label { width: auto; height: 1; color: $text; background: $warning 40%; padding: 0 1 0 0; }
    Prompt Input, Prompt Input:focus { border: none; height: 1; padding: 0 1; width: 1fr; }
    """
    BINDINGS = [Binding("tab", "complete", "complete", priority=True), Binding("escape", "cancel", "cancel")]

    def __init__(self, label: str, value: str = "", complete: Callable[[str], list[str]] | None = None) -> None:
        super().__init__()
        self.label = label
        self.initial = value
        self.completer = complete

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="candidates")
            with Horizontal(id="prompt-line"):
                yield Label(self.label, id="prompt-label")
                yield Input(value=self.initial)  # pre-filled and selected: typing replaces, arrows edit

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_complete(self) -> None:
        if self.completer is None:
            return
        field = self.query_one(Input)
        candidates = self.completer(field.value)
        candidates_view = self.query_one("#candidates", Static)
        if not candidates:
            candidates_view.update(Text("no completion", style="dim"))
            return
        common = longest_common_prefix(candidates)
        if len(candidates) == 1:
            common = candidates[0] + " "
        if len(common) > len(field.value):
            field.value = common
            field.cursor_position = len(common)
        candidates_view.update("  ".join(candidate.split(" ")[-1] for candidate in candidates[:60]))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    DEFAULT_CSS = """
    Confirm { align: left bottom; background: $background 0%; }
    Confirm > Label { width: 1fr; background: $warning; color: $text; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        yield Label(self.question)

    def on_key(self, event: Any) -> None:
        event.stop()
        self.dismiss(event.character in ("y", "Y"))


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; height: 90%; border: round $accent; background: $surface; }
    """
    BINDINGS = [Binding("escape", "close", "close"), Binding("q", "close", show=False),
                Binding("enter", "close", show=False), Binding("space", "close", show=False)]

    def __init__(self, keymap: Any) -> None:
        super().__init__()
        self.keymap = keymap

    def help_text(self) -> Text:
        prefix = getattr(self.keymap, "prefix", "C-a")
        text = Text()
        text.append(f"Key bindings (prefix {prefix}) — Esc leaves\n\n", style="bold")
        for key, binding in self.keymap.bindings.items():
            text.append(f"{prefix} {key:<10}", style="bold cyan")
            text.append(f" {binding.command_line:<28} ", style="bold")
            text.append(f"{binding.note}\n")
        text.append(f"\nGNU Screen's command names also work on the {prefix} : line\n\n", style="bold")
        for alias in SCREEN_ALIASES.values():
            text.append(f"  :{alias.usage:<32}", style="bold cyan")
            text.append(f" = {alias.means}\n")
        text.append(f"  :{'hardcopy [-h] [FILE]':<32}", style="bold cyan")
        text.append(" = the window's screen to hardcopy.N (screen's C-a h)\n")
        text.append(f"  :{'log [on|off]':<32}", style="bold cyan")
        text.append(" = the window's output to screenlog.N (screen's C-a H)\n")
        return text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.help_text(), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)


class MessageBox(ModalScreen[bool]):
    """A long or multi-line message, whole and wrapped; later messages are added below while it is open.
    Enter, Esc or q closes it; c closes it and puts the text in the paste buffer (C-a ] pastes it)."""

    DEFAULT_CSS = """
    MessageBox { align: center middle; }
    MessageBox > VerticalScroll { width: 90%; max-width: 120; height: auto; max-height: 90%;
                                  border: round $warning; background: $surface; padding: 0 1;
                                  border-title-align: left; border-subtitle-align: right; }
    MessageBox.crit > VerticalScroll { border: round $error; }
    MessageBox #message-text { width: 1fr; }
    """
    BINDINGS = [Binding("escape", "close", "close"), Binding("q", "close", show=False),
                Binding("enter", "close", show=False), Binding("c", "copy", show=False)]

    def __init__(self, text: str, level: str = "warn", title: str = "") -> None:
        super().__init__(classes=level)
        self.texts = [text]
        self.title_text = title or {"crit": "error", "warn": "refused"}.get(level, "message")

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = self.title_text
            box.border_subtitle = "Enter or Esc closes · c copies to the paste buffer"
            yield Static(self._body(), id="message-text")

    def _body(self) -> Text:
        return Text("\n\n".join(self.texts), overflow="fold")

    def add(self, text: str) -> None:
        self.texts.append(text)
        self.query_one("#message-text", Static).update(self._body())

    @property
    def text(self) -> str:
        return "\n\n".join(self.texts)

    def action_close(self) -> None:
        self.dismiss(False)

    def action_copy(self) -> None:
        self.dismiss(True)
