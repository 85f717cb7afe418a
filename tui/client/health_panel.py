"""The cluster health side panel: a data-driven view of the latest `health` message.

Message shape (the health layer may add fields; unknown ones are ignored):
health {clusters: [{name, rows: [{node, layer, state, value, reason, age}]}], events: [...]}.
Each row shows its state as a symbol as well as a colour (✓ ok, ! warn, ✗ crit, ? unknown).
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
    new = str(event.get("new", ""))
    symbol, style = STATE_SYMBOLS.get(new, ("", ""))
    if symbol:
        line.append(f"{symbol} ", style=style)
    line.append(str(event.get("text") or event))
    return line


def health_text(message: dict[str, Any] | None, events: int = 10) -> Text:
    """The panel's content: per cluster a header with its overall state, then one line per node/layer row
    (symbol, node, layer[/subject], value, age, 'stale'), the reason under warn/crit rows, then recent events."""
    text = Text()
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
        text.append(f"{cluster.get('name', '?')}\n", style="bold underline")
        rows = cluster.get("rows") if isinstance(cluster.get("rows"), list) else []
        for row in rows:
            if not isinstance(row, dict):
                continue
            symbol, style = STATE_SYMBOLS.get(str(row.get("state")), STATE_SYMBOLS["unknown"])
            node = str(row.get("node", ""))
            layer = str(row.get("layer", ""))
            if row.get("subject"):
                layer += f"/{row['subject']}"
            text.append(f" {symbol} ", style=style)
            text.append("cluster" if node == "*" else node, style="bold")
            text.append(f" {layer} ")
            text.append(str(row.get("value", "")))
            age = _age(row.get("age"))
            if age:
                text.append(" ")
                text.append(age, style="dim")
            if row.get("stale"):
                text.append(" ")
                text.append("stale", style="yellow")
            text.append("\n")
            if row.get("reason") and row.get("state") in ("warn", "crit"):
                text.append(f"   {row['reason']}\n", style=style)
    recent = message.get("events") if isinstance(message.get("events"), list) else []
    if recent and events:
        text.append("\nevents\n", style="bold underline")
        for event in recent[-events:]:
            text.append_text(_event_line(event))
            text.append("\n")
    return text


def crit_count(message: dict[str, Any] | None) -> int:
    if not message or not isinstance(message.get("clusters"), list):
        return 0
    return sum(1 for cluster in message["clusters"] if isinstance(cluster, dict)
               for row in cluster.get("rows") or [] if isinstance(row, dict) and row.get("state") == "crit")


class HealthPanel(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    HealthPanel { width: 42; border-left: solid $primary; display: none; }
    HealthPanel.left { dock: left; border-left: none; border-right: solid $primary; }
    HealthPanel.bottom { dock: bottom; width: 1fr; height: 12; border-left: none; border-top: solid $primary; }
    HealthPanel.shown { display: block; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message: dict[str, Any] | None = None
        self._body = Static(health_text(None))

    def compose(self):
        yield self._body

    def show(self, message: dict[str, Any]) -> None:
        self.message = message
        self._body.update(health_text(message))
