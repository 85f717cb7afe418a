"""The ops screens of the client: the procedures palette (C-a P) and the full-screen health window (C-a W).

The palette lists the server's procedures with their danger and note, each on a digit key; choosing one
asks for the procedure's parameters (a list of choices where they are known: the cluster's members for a
node, the allowed values otherwise; a prompt for the rest), then sends `run-procedure NAME CLUSTER
[PARAM=VALUE ...]`, and the server opens the procedure window that shows the preflight and the exact plan
before anything runs. The health window shows the same data as the side panel, with
room for the whole event timeline, and follows new `health` messages while it is open.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.client.health_panel import health_text


class ProcedurePalette(ModalScreen[str | None]):
    DEFAULT_CSS = """
    ProcedurePalette { align: center middle; }
    ProcedurePalette > Vertical { width: 96; height: auto; max-height: 80%; border: round $warning;
                                  background: $surface; border-title-align: left; border-subtitle-align: right; }
    ProcedurePalette OptionList, ProcedurePalette OptionList:focus { height: auto; max-height: 20; border: none; }
    """
    BINDINGS = [Binding("escape", "cancel", "close"), Binding("q", "cancel", show=False)]

    def __init__(self, names: list[str], info: dict[str, dict[str, str]], cluster: str | None) -> None:
        super().__init__()
        self.names = names
        self.info = info
        self.cluster = cluster

    def compose(self) -> ComposeResult:
        options = []
        for number, name in enumerate(self.names, start=1):
            details = self.info.get(name, {})
            key = str(number) if number < 10 else " "
            options.append(Option(f"{key} {name:22} {(details.get('danger') or ''):10} {(details.get('note') or '')}",
                                  id=name))
        with Vertical() as box:
            box.border_title = f"Procedures{f' for {self.cluster}' if self.cluster else ''}"
            box.border_subtitle = "1-9 or Enter: preflight and plan first · Esc leaves"
            yield OptionList(*options)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_key(self, event: Any) -> None:
        if event.character and event.character.isdigit() and event.character != "0":
            index = int(event.character) - 1
            if index < len(self.names):
                event.stop()
                self.dismiss(self.names[index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ParamChoice(ModalScreen[str | None]):
    """One procedure parameter chosen from a list; an optional one also offers its default ("")."""

    DEFAULT_CSS = """
    ParamChoice { align: center middle; }
    ParamChoice > Vertical { width: 80; height: auto; max-height: 80%; border: round $warning;
                             background: $surface; border-title-align: left; border-subtitle-align: right; }
    ParamChoice #param-help { padding: 0 1; color: $text-muted; }
    ParamChoice OptionList, ParamChoice OptionList:focus { height: auto; max-height: 16; border: none; }
    """
    BINDINGS = [Binding("escape", "cancel", "close"), Binding("q", "cancel", show=False)]

    def __init__(self, procedure: str, param: dict[str, Any], choices: list[str]) -> None:
        super().__init__()
        self.procedure = procedure
        self.param = param
        self.values = list(choices)
        if not param.get("required"):
            self.values.insert(0, "")

    def _label(self, value: str) -> str:
        if value:
            return value
        default = self.param.get("default")
        return f"(default: {default})" if default else "(not given: the procedure decides)"

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"{self.procedure}: --{self.param.get('name') or '?'}"
            box.border_subtitle = "1-9 or Enter chooses · Esc cancels the run"
            yield Static(str(self.param.get("help") or ""), id="param-help")
            yield OptionList(*[Option(f"{n if n < 10 else ' '} {self._label(v)}", id=f"v{n}")
                               for n, v in enumerate(self.values, start=1)])

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_key(self, event: Any) -> None:
        if event.character and event.character.isdigit() and event.character != "0":
            index = int(event.character) - 1
            if index < len(self.values):
                event.stop()
                self.dismiss(self.values[index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.values[int(str(event.option.id)[1:]) - 1])

    def action_cancel(self) -> None:
        self.dismiss(None)


class HealthWindow(Screen[None]):
    DEFAULT_CSS = """
    HealthWindow { background: $surface; }
    HealthWindow > VerticalScroll { padding: 0 1; scrollbar-size-vertical: 1; scrollbar-gutter: stable; }
    HealthWindow #health-title { dock: top; height: 1; background: $primary; color: $text; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "close", "close"), Binding("q", "close", show=False)]

    def __init__(self, message: dict[str, Any] | None) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        yield Static("cluster health — Esc or q goes back to the panes", id="health-title")
        with VerticalScroll():
            yield Static(health_text(self.message, events=50), id="health-body")

    def show(self, message: dict[str, Any] | None) -> None:
        self.message = message
        width = self.query_one(VerticalScroll).scrollable_content_region.width
        self.query_one("#health-body", Static).update(
            health_text(message, events=50, width=width if width > 10 else None))

    def on_resize(self) -> None:
        self.show(self.message)

    def action_close(self) -> None:
        self.dismiss(None)
