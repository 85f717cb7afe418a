"""The cluster health side panel: a data-driven view of the latest `health` message.

Message shape (the health layer may add fields; unknown ones are ignored):
health {clusters: [{name, rows: [{node, layer, state, value, reason, age}]}], events: [...]}.
Each row shows its state as a symbol as well as a colour (✓ ok, ! warn, ✗ crit, ? unknown). Rows are laid
out to the panel's width (long ones wrap at spaces, indented under their row), and events are listed newest
first.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

STATE_SYMBOLS = {"ok": ("✓", "green"), "warn": ("!", "yellow"), "crit": ("✗", "bold red"),
                 "unknown": ("?", "bright_black")}


def _age(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return ""
    seconds = int(value)
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


ROW_INDENT = 3  # continuation lines of a row, and its reason, start under the row's node name


def wrap_indented(line: Text, width: int | None, indent: int) -> list[Text]:
    """line cut at spaces into pieces of at most width cells, every piece after the first indented by
    indent spaces; a word longer than a line is cut where the line ends. No width: line as it is."""
    plain = line.plain
    if width is None or len(plain) <= width:
        return [line]
    indent = min(indent, max(width // 2, 0))
    offsets: list[int] = []
    start, room = 0, width
    while len(plain) - start > room:
        cut = plain.rfind(" ", start + 1, start + room + 1)
        if cut <= start:
            cut = start + room
        offsets.append(cut)
        start = cut
        while start < len(plain) and plain[start] == " ":
            start += 1
        if start > cut:
            offsets.append(start)  # the spaces at the break are dropped
        room = width - indent
    pieces = line.divide(offsets)
    out: list[Text] = []
    for piece in pieces:
        if not piece.plain.strip() and out:
            continue  # the dropped spaces
        if out:
            piece = Text(" " * indent) + piece
        out.append(piece.rstrip() or piece)
    return out


def _event_line(event: Any) -> Text:
    line = Text(no_wrap=False)
    if isinstance(event, str):
        line.append(event, style="dim")
        return line
    if not isinstance(event, dict):
        return line
    when = event.get("time")
    if isinstance(when, (int, float)):
        line.append(time.strftime("%H:%M:%S ", time.localtime(when)), style="dim")
    new = str(event.get("new") or "")
    symbol, style = STATE_SYMBOLS.get(new, ("", ""))
    if symbol:
        line.append(f"{symbol} ", style=style)
    line.append(str(event.get("text") or event))
    return line


def health_text(message: dict[str, Any] | None, events: int = 10, width: int | None = None) -> Text:
    """The panel's content: per cluster a header with its overall state, then one line per node/layer row
    (symbol, node, layer[/subject], value, age, 'stale'), the reason under warn/crit rows, then the recent
    events, newest first. With a width every line is wrapped to it (see wrap_indented)."""
    text = Text()

    def add(line: Text, indent: int = ROW_INDENT) -> None:
        for piece in wrap_indented(line, width, indent):
            text.append_text(piece)
            text.append("\n")

    if not message:
        text.append("no health data yet", style="dim")
        return text
    clusters = message.get("clusters") if isinstance(message.get("clusters"), list) else []
    if not clusters:
        text.append("no clusters configured", style="dim")
    for cluster in clusters:
        if not isinstance(cluster, dict):
            continue
        symbol, style = STATE_SYMBOLS.get(str(cluster.get("state")), ("", ""))
        text.append(f"{symbol} " if symbol else "", style=style)
        text.append(f"{(cluster.get('name') or '?')}\n", style="bold underline")
        rows = cluster.get("rows") if isinstance(cluster.get("rows"), list) else []
        for row in rows:
            if not isinstance(row, dict):
                continue
            symbol, style = STATE_SYMBOLS.get(str(row.get("state")), STATE_SYMBOLS["unknown"])
            node = str(row.get("node") or "")
            layer = str(row.get("layer") or "")
            if row.get("subject"):
                layer += f"/{row['subject']}"
            line = Text()
            line.append(f" {symbol} ", style=style)
            line.append("cluster" if node == "*" else node, style="bold")
            line.append(f" {layer} ")
            line.append(str(row.get("value") or ""))
            age = _age(row.get("age"))
            if age:
                line.append(" ")
                line.append(age, style="dim")
            if row.get("stale"):
                line.append(" ")
                line.append("stale", style="yellow")
            add(line)
            if row.get("reason") and row.get("state") in ("warn", "crit"):
                add(Text(" " * ROW_INDENT + str(row["reason"]), style=style))
    recent = message.get("events") if isinstance(message.get("events"), list) else []
    if recent and events:
        text.append("\nevents (newest first)\n", style="bold underline")
        for event in reversed(recent[-events:]):
            add(_event_line(event), indent=2)
    return text


def crit_count(message: dict[str, Any] | None) -> int:
    if not message or not isinstance(message.get("clusters"), list):
        return 0
    return sum(1 for cluster in message["clusters"] if isinstance(cluster, dict)
               for row in cluster.get("rows") or [] if isinstance(row, dict) and row.get("state") == "crit")


class HealthPanel(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    HealthPanel { width: 42; border-left: solid $primary; display: none; scrollbar-size-vertical: 1;
                  scrollbar-gutter: stable; }
    HealthPanel.left { dock: left; border-left: none; border-right: solid $primary; }
    HealthPanel.bottom { dock: bottom; width: 1fr; height: 12; border-left: none; border-top: solid $primary; }
    HealthPanel.shown { display: block; }
    HealthPanel > Static { width: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message: dict[str, Any] | None = None
        self._body = Static(health_text(None))

    def compose(self):
        yield self._body

    def show(self, message: dict[str, Any]) -> None:
        self.message = message
        self._render_body()

    def on_resize(self) -> None:
        self._render_body()

    def _render_body(self) -> None:
        # the scrollbar's column is always reserved (scrollbar-gutter: stable), so this width never changes
        width = self.scrollable_content_region.width
        self._body.update(health_text(self.message, width=width if width > 10 else None))
