"""The prefix-key state machine: raw key bytes in, 'forward these bytes' or 'run this binding' out.

While a pane has the focus every byte goes to the pane unchanged except the keymap's prefix byte (0x01 for
C-a). After the prefix, the next key (one character, one control byte or one escape sequence) is looked up in
the keymap's byte table. The machine stops after a binding and hands back the unread rest, because the
binding may open a UI element that should get those bytes through Textual instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.client.keys import key_name_to_bytes, split_key_sequences


@dataclass
class PrefixResult:
    forward: bytes = b""  # bytes for the pane, in order before anything else
    binding: Any = None  # the keymap Binding chosen after the prefix
    unbound: bytes | None = None  # a key after the prefix that has no binding
    waiting: bool = False  # the prefix was seen and the next key has not arrived yet
    rest: bytes = b""  # bytes after a binding, not looked at yet
    events: list[str] = field(default_factory=list)


def binding_table(keymap: Any) -> dict[bytes, Any]:
    """bytes -> Binding for every binding of the keymap (tui.config gives each binding its byte sequences)."""
    table: dict[bytes, Any] = {}
    for key, binding in keymap.bindings.items():
        for variant in getattr(binding, "sequences", ()) or key_name_to_bytes(key):
            if variant:
                table.setdefault(bytes(variant), binding)
    return table


def prefix_byte_of(keymap: Any) -> int:
    value = keymap.prefix_byte
    return value[0] if isinstance(value, (bytes, bytearray)) else int(value)


class PrefixMachine:
    def __init__(self, prefix_byte: int, table: dict[bytes, Any]) -> None:
        self.prefix_byte = prefix_byte
        self.table = table
        self.waiting = False

    def feed(self, data: bytes) -> PrefixResult:
        result = PrefixResult()
        forward = bytearray()
        i = 0
        while i < len(data):
            if not self.waiting:
                found = data.find(bytes([self.prefix_byte]), i)
                if found < 0:
                    forward += data[i:]
                    i = len(data)
                    break
                forward += data[i:found]
                self.waiting = True
                i = found + 1
                continue
            key = split_key_sequences(data[i:])[0]
            i += len(key)
            self.waiting = False
            binding = self.table.get(key)
            if binding is None:
                result.unbound = key
            else:
                result.binding = binding
            result.rest = data[i:]
            break
        result.forward = bytes(forward)
        result.waiting = self.waiting
        return result

    def cancel(self) -> None:
        self.waiting = False
