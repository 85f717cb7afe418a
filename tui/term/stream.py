"""The byte parser of one pane: pyte's `ByteStream`, with a tokenizer that takes whole sequences at once.

Owns turning bytes into calls on a `TermScreen`. Stock pyte feeds every escape-sequence character through a
generator one by one and raises on some malformed input (e.g. `CSI 1;2 A`). This stream instead:
- decodes with a persistent incremental UTF-8 decoder (errors="replace"), so invalid bytes and characters
  split across reads are safe;
- matches complete CSI/ESC/OSC/DCS sequences with regular expressions and dispatches them to the screen's
  (pyte) methods with the right number of arguments; an incomplete sequence at the end of a read is kept
  (bounded) and finished by the next read; overlong strings are skipped, never buffered without limit;
- has a block path: while the screen is `ready_for_block()`, a run of complete lines made of single-cell
  text (printable ASCII and the common narrow characters of `NARROW_CHARS`) and SGR sequences
  (`...\\r\\n`) is cut into rows and handed to `TermScreen.absorb_rows`, so lines that scroll away
  straight into scrollback never become per-cell objects; SGR sequences are followed through a memoised
  graph of states (`SgrState`, walked in C), the rows remember the line they came from (`BlockRow`) and go
  to history as that source text, and lines that scroll straight through get no segments at all;
- takes the commonest sequences as single tokens: text, runs of SGR + text, CUP + (styled) text (+ EL), and
  CUP + CR LF + the new row (a region scrolled at its bottom, as vim and less do); a run of rows redrawn as
  top does it (`CUP row;1`, styled text, EL), or as vim scrolls them in (`CUP bottom;1`, CR LF, styled
  text, EL), goes to `TermScreen.rewrite_rows` in one call.
Colon sub-parameters of SGR (38:2::r:g:b, 4:3) are understood; private/secondary variants that are not
implemented (e.g. `CSI > 4;2 m`, xterm's modifyOtherKeys) are ignored instead of misread as plain SGR.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from functools import lru_cache, reduce
from itertools import accumulate, compress
from operator import attrgetter, getitem
from typing import Any

import pyte

from tui.term.screen import NARROW_CHARS, TermScreen
from tui.term.scrollback import BlockRow, Style

TEXT_RE = re.compile(r"[^\x00-\x1f\x7f-\x9f]+")
# one token; the commonest pairs (SGR + text, CUP + text) are single tokens to save dispatch overhead
TOKEN_RE = re.compile(
    r"([^\x00-\x1f\x7f-\x9f]+)"  # 1: printable text
    r"|((?>\x1b\[[0-9;]*+m[^\x00-\x1f\x7f-\x9f]*+)+)"  # 2: SGR sequences, each with the text after it
    # 3: CUP, then 4: what follows up to the next escape sequence that is not SGR, then 5: EL if it follows.
    # 4 is scanned as "anything but ESC" (several times faster than a class of printable characters) and is
    # checked for controls afterwards: a row that top or vim redraws is taken in one token
    r"|\x1b\[([0-9]*;?[0-9]*)H((?>[^\x1b]*+)(?>\x1b\[[0-9;]*+m[^\x1b]*+)*+)(\x1b\[K)?"
    r"|\x1b\[([<=>?]?)([0-9:;]*)([ -/]*)([@-~])"  # 6-9: any other CSI sequence
    r"|\r\n"
)
CSI_RE = re.compile(r"\x1b\[([<=>?]?)([0-9:;]*)([ -/]*)([@-~])")
# a CSI whose parameter and intermediate bytes come in the wrong order (`CSI 38;2;300;-1;20 m`) is malformed;
# like xterm's parser (its CSI_IGNORE state) we swallow it up to its final byte instead of printing the tail
CSI_ANY_RE = re.compile(r"\x1b\[[ -?]*[@-~]")
CSI_PREFIX_RE = re.compile(r"\x1b\[[ -?]*")
ESC_RE = re.compile(r"\x1b([ -/]*)([0-~])")
ESC_PARTIAL_RE = re.compile(r"\x1b[ -/]*\Z")
STRING_END_RE = re.compile(r"\x07|\x1b\\|\x9c")
# atomic groups and possessive char classes: no backtracking stack (the naive form needs ~100 bytes of regex
# stack per character matched) and 10x faster; possessive *groups* are avoided (buggy in Python 3.11.2)
BLOCK_RE = re.compile(f"(?>[{NARROW_CHARS}]*+(?>\x1b\\[[0-9;]*+m[{NARROW_CHARS}]*+)*\r\n)+")
# the same for text known to be ASCII (str.isascii() is O(1)): a small character class matches twice as fast
ASCII_BLOCK_RE = re.compile("(?>[ -~]*+(?>\x1b\\[[0-9;]*+m[ -~]*+)*\r\n)+")
SGR_SPLIT_RE = re.compile(r"\x1b\[([0-9;]*)m")
ERASE_LINE = "\x1b[K"
# one row redrawn as top does it: CUP row;1 (1: the row), maybe CR LF (2: the region scrolled at its bottom,
# then its new row, as vim and less do; CR CR LF once a tty's ONLCR has added a CR), styled text (3: single-cell
# characters and SGR sequences only, so the row needs no further check; 4: the parameters of its last SGR, if
# any), EL. The class of single-cell characters scans about as fast as "anything but ESC".
REDRAWN_ROW_RE = re.compile(f"\x1b\\[([0-9]{{0,4}})(?:;1?)?H(\r*\n)?((?>[{NARROW_CHARS}]*+)"
                            f"(?>\x1b\\[([0-9;]*+)m[{NARROW_CHARS}]*+)*+)\x1b\\[K")

SGR_STATES_LIMIT = 4096  # distinct attributes kept in the block path's state graph (truecolour floods)
SGR_TRANSITIONS_LIMIT = 256  # distinct SGR parameter texts kept per state

MAX_PENDING_SEQUENCE = 512  # a CSI/ESC sequence longer than this is garbage
MAX_STRING = 8192  # OSC/DCS payloads beyond this are skipped, not kept
MAX_PARAM = 9999


def _int(text: str) -> int:
    if not text:
        return 0
    if not text.isdigit() or len(text) > 5:
        return MAX_PARAM if text.isdigit() else 0
    value = int(text)
    return value if value < MAX_PARAM else MAX_PARAM


@lru_cache(maxsize=2048)
def parse_params(text: str) -> tuple[int, ...]:
    """CSI parameters; a colon sub-parameter keeps only its first part."""
    if not text:
        return ()
    return tuple(_int(part.split(":", 1)[0]) for part in text.split(";"))


@lru_cache(maxsize=4096)
def parse_cup(text: str) -> tuple[int, int]:
    """Row and column of `CSI row ; column H` (0 = default)."""
    line, _, column = text.partition(";")
    return _int(line), _int(column)


@lru_cache(maxsize=2048)
def parse_sgr(text: str) -> tuple[int, ...]:
    """SGR parameters with colon forms rewritten to their semicolon equivalents."""
    if not text:
        return (0,)
    if ":" not in text:
        return tuple(_int(part) for part in text.split(";"))
    result: list[int] = []
    for part in text.split(";"):
        if ":" not in part:
            result.append(_int(part))
            continue
        sub = part.split(":")
        head = _int(sub[0])
        if head in (38, 48, 58) and len(sub) >= 2:
            kind = _int(sub[1])
            if kind == 5 and len(sub) >= 3:
                result += [head, 5, _int(sub[2])]
            elif kind == 2 and len(sub) >= 5:
                rgb = sub[-3:]
                result += [head, 2, *(_int(v) for v in rgb)]
        elif head == 4:
            result.append(24 if len(sub) > 1 and _int(sub[1]) == 0 else 4)
        else:
            result.append(head)
    return tuple(result) or (0,)


class SgrState(dict):  # type: ignore[type-arg]
    """Cell attributes, and the state each `CSI params m` leads to from them (params text -> SgrState),
    filled in on first use; a line's SGR sequences then become dictionary lookups done in C."""

    __slots__ = ("attrs", "graph")

    def __init__(self, attrs: Any, graph: SgrStates) -> None:
        super().__init__()
        self.attrs = attrs
        self.graph = graph

    def __missing__(self, params: str) -> SgrState:
        if len(self) >= SGR_TRANSITIONS_LIMIT:
            self.clear()
        following = self[params] = self.graph[self.graph.transition(self.attrs, params)]
        return following


class SgrStates(dict):  # type: ignore[type-arg]
    """Cell attributes -> their SgrState: the block path's memo of SGR transitions (bounded)."""

    def __init__(self, transition: Callable[[Any, str], Any]) -> None:
        super().__init__()
        self.transition = transition

    def __missing__(self, attrs: Any) -> SgrState:
        if len(self) >= SGR_STATES_LIMIT:
            self.clear()  # the old graph becomes garbage: no state of the new one points into it
        state = self[attrs] = SgrState(attrs, self)
        return state


_STATE_ATTRS = attrgetter("attrs")


class TermStream(pyte.ByteStream):
    """Feeds bytes into a TermScreen; never raises on malformed input."""

    def __init__(self, screen: TermScreen) -> None:
        super().__init__(screen)
        self.screen = screen
        screen.parse_sgr = parse_sgr
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""  # an unfinished escape sequence from the previous read
        self._string: str | None = None  # OSC/DCS/... kind while inside a string
        self._string_data: list[str] = []
        self._string_len = 0
        self._skipping_string = False
        self._sgr_states = SgrStates(screen.sgr_transition)
        screen.sgr_states = self._sgr_states
        screen.source_segments = self._block_segments
        screen.read_source = self._read_source
        s = screen
        # final byte -> (method, how many parameters it takes)
        self._csi: dict[str, tuple[Callable[..., Any], int]] = {
            "@": (s.insert_characters, 1), "A": (s.cursor_up, 1), "B": (s.cursor_down, 1),
            "C": (s.cursor_forward, 1), "D": (s.cursor_back, 1), "E": (s.cursor_down1, 1),
            "F": (s.cursor_up1, 1), "G": (s.cursor_to_column, 1), "H": (s.cursor_position, 2),
            "I": (s.tab_forward, 1), "J": (s.erase_in_display, 1), "K": (s.erase_in_line, 1),
            "L": (s.insert_lines, 1), "M": (s.delete_lines, 1), "P": (s.delete_characters, 1),
            "S": (s.scroll_up, 1), "T": (s.scroll_down, 1), "X": (s.erase_characters, 1),
            "Z": (s.tab_backward, 1), "`": (s.cursor_to_column, 1), "a": (s.cursor_forward, 1),
            "b": (s.repeat_last_character, 1), "c": (s.report_device_attributes, 1),
            "d": (s.cursor_to_line, 1), "e": (s.cursor_down, 1), "f": (s.cursor_position, 2),
            "g": (s.clear_tab_stop, 1), "h": (s.set_mode, 16), "l": (s.reset_mode, 16),
            "n": (s.report_device_status, 1), "r": (s.set_margins, 2), "s": (s.save_cursor_sco, 2),
            "u": (s.restore_cursor, 0),
        }
        self._esc: dict[str, Callable[[], None]] = {
            "c": s.reset, "D": s.index, "E": self._next_line, "M": s.reverse_index, "H": s.set_tab_stop,
            "7": s.save_cursor, "8": s.restore_cursor, "=": s.set_keypad_application,
            ">": s.set_keypad_numeric,
        }

    # ---- entry points -----------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:  # type: ignore[override]
        self.feed_text(self.decoder.decode(data))

    def feed_text(self, data: str) -> None:
        if self._pending:
            data = self._pending + data
            self._pending = ""
        start = 0
        if self._string is not None:
            start = self._continue_string(data, 0)
            if start < 0:
                return
        self._parse(data, start)

    # ---- the tokenizer ----------------------------------------------------------------------------------

    def _parse(self, data: str, pos: int) -> None:
        screen = self.screen
        draw = screen.draw
        token_match = TOKEN_RE.match
        dispatch_csi = self._dispatch_csi
        draw_styled = screen.draw_styled
        rewrite_row = screen.rewrite_row
        rewrite_rows = screen.rewrite_rows
        split_sgr = SGR_SPLIT_RE.split
        length = len(data)
        if screen.ready_for_block():
            pos = self._try_block(data, pos)
        while pos < length:
            match = token_match(data, pos)
            if match is not None:
                pos = match.end()
                kind = match.lastindex
                if kind == 1:  # printable text
                    draw(match.group(1))
                elif kind == 2:  # SGR sequences, each with the text it colours
                    parts = split_sgr(match.group(2))
                    if data.startswith(ERASE_LINE, pos) and rewrite_row(parts):
                        pos += 3  # a whole row redrawn: text from the first column, then EL
                    else:
                        draw_styled(parts)
                elif kind == 4 or kind == 5:  # cursor position, then (styled) text written there, maybe EL
                    text = match.group(4)
                    if kind == 5 and (not text or text[0] >= " " or text[0] == "\x1b" or text[0] in "\r\n"):
                        # a row redrawn, likely the first of many (top, vim): take them in one call
                        end = rewrite_rows(iter(REDRAWN_ROW_RE.scanner(data, match.start()).match, None), split_sgr)
                        if end > 0:
                            pos = end
                            continue
                    screen.cursor_position(*parse_cup(match.group(3)))
                    taken = match.end(3) + 1  # just after the CUP
                    if text.startswith("\r\n"):  # the region scrolled at its bottom, then its new row (vim, less)
                        screen.cursor.x = 0
                        screen.linefeed()
                        text = text[2:]
                        taken += 2
                    parts = split_sgr(text) if "\x1b" in text else [text]
                    if not ("".join(parts[0::2]) if len(parts) > 1 else text).isprintable():
                        pos = taken  # controls or other sequences follow: they go through the tokens
                    elif kind == 5:
                        if not rewrite_row(parts):  # a whole row redrawn, or else draw and erase
                            draw_styled(parts)
                            screen.erase_in_line(0)
                    elif len(parts) > 1:
                        draw_styled(parts)
                    elif text:
                        draw(text)
                elif kind is None:  # CR LF
                    screen.cursor.x = 0
                    screen.linefeed()
                    if screen.ready_for_block():
                        pos = self._try_block(data, pos)
                else:  # any other complete CSI sequence
                    marker, params, intermediates, final = match.group(6, 7, 8, 9)
                    if not marker and not intermediates and final == "K":
                        screen.erase_in_line(*parse_params(params)[:1])
                    else:
                        dispatch_csi(marker, params, intermediates, final)
                continue
            char = data[pos]
            if char == "\x1b":
                pos = self._escape(data, pos)
                if pos < 0:
                    return  # the rest is pending or inside a string
                continue
            pos += 1
            if char == "\n" or char == "\x0b" or char == "\x0c":
                screen.linefeed()
                if screen.ready_for_block():
                    pos = self._try_block(data, pos)
            elif char == "\r":
                screen.carriage_return()
            elif char == "\x08":
                screen.backspace()
            elif char == "\t":
                screen.tab()
            elif char == "\x07":
                screen.bell()
            elif char == "\x0e":
                screen.shift_out()
            elif char == "\x0f":
                screen.shift_in()
            # other C0 controls, NUL, DEL and the C1 range are ignored (a UTF-8 pane uses 7-bit forms)

    def _escape(self, data: str, pos: int) -> int:
        """Handle an ESC at `pos` that is not a complete CSI; return the next position, or -1 when the
        rest of `data` was consumed into the pending buffer or a string."""
        length = len(data)
        if pos + 1 >= length:
            self._pending = data[pos:]
            return -1
        second = data[pos + 1]
        if second == "[":
            if CSI_ANY_RE.match(data, pos):  # well-formed but with parameters we do not know: ignore
                return CSI_ANY_RE.match(data, pos).end()  # type: ignore[union-attr]
            prefix = CSI_PREFIX_RE.match(data, pos)
            assert prefix is not None
            if prefix.end() == length:
                if length - pos <= MAX_PENDING_SEQUENCE:
                    self._pending = data[pos:]
                    return -1
                return length  # overlong garbage
            return prefix.end()  # broken by a control or non-ASCII character: drop it, go on from there
        if second in "]PX^_":
            self._string = second
            self._string_data = []
            self._string_len = 0
            self._skipping_string = False
            return self._continue_string(data, pos + 2)
        match = ESC_RE.match(data, pos)
        if match is not None:
            intermediates, final = match.groups()
            self._dispatch_escape(intermediates, final)
            return match.end()
        if ESC_PARTIAL_RE.match(data, pos):
            if length - pos <= MAX_PENDING_SEQUENCE:
                self._pending = data[pos:]
                return -1
            return length
        return pos + 1  # ESC followed by a control or non-ASCII character: drop the ESC

    def _continue_string(self, data: str, start: int) -> int:
        """Collect an OSC/DCS/SOS/PM/APC payload; return the position after its terminator, or -1 if the
        payload goes on past `data` (its end is awaited in the next read)."""
        match = STRING_END_RE.search(data, start)
        end = match.start() if match else len(data)
        if not match and data.endswith("\x1b"):
            end -= 1  # maybe the first half of ESC \
        piece = data[start:end]
        if not self._skipping_string:
            self._string_len += len(piece)
            if self._string_len > MAX_STRING:
                self._skipping_string = True
                self._string_data = []
            else:
                self._string_data.append(piece)
        if match is None:
            self._pending = data[end:]
            return -1
        kind = self._string
        payload = "".join(self._string_data)
        self._string = None
        self._string_data = []
        if kind == "]" and not self._skipping_string:
            self._osc(payload, match.group())
        elif kind == "P" and not self._skipping_string and payload.startswith("$q"):
            self.screen.report_setting(payload[2:])
        self._skipping_string = False
        return match.end()

    # ---- dispatch ---------------------------------------------------------------------------------------

    def _dispatch_csi(self, marker: str, params: str, intermediates: str, final: str) -> None:
        screen = self.screen
        if intermediates:
            if intermediates == "!" and final == "p":
                screen.soft_reset()
            elif intermediates == " " and final == "q":
                screen.set_cursor_shape(*parse_params(params)[:1])
            elif intermediates == "$" and final == "p" and marker in ("", "?"):
                screen.report_mode(parse_params(params)[0] if params else 0, private=marker == "?")
            return
        if not marker:
            if final == "m":
                screen.cursor.attrs = screen.sgr_transition(screen.cursor.attrs, params)
                return
            if final == "t":
                screen.report_window(parse_params(params)[0] if params else 0)
                return
            entry = self._csi.get(final)
            if entry is None:
                return
            method, arity = entry
            method(*parse_params(params)[:arity])
            return
        if marker == "?":
            if final == "h":
                screen.set_mode(*parse_params(params)[:16], private=True)
            elif final == "l":
                screen.reset_mode(*parse_params(params)[:16], private=True)
            elif final == "J":
                screen.erase_in_display(*parse_params(params)[:1])
            elif final == "K":
                screen.erase_in_line(*parse_params(params)[:1])
            elif final == "n":
                screen.report_device_status(*parse_params(params)[:1])
        elif marker == ">" and final == "c" and not any(parse_params(params)):
            screen.report_secondary_attributes()

    def _dispatch_escape(self, intermediates: str, final: str) -> None:
        screen = self.screen
        if not intermediates:
            handler = self._esc.get(final)
            if handler is not None:
                handler()
            return
        if intermediates in ("(", ")") and len(intermediates) == 1:
            screen.define_charset(final, intermediates)
        elif intermediates == "#" and final == "8":
            screen.alignment_display()
        # ESC % (charset switching) and others: ignored, the pane always speaks UTF-8

    def _next_line(self) -> None:
        self.screen.carriage_return()
        self.screen.linefeed()

    def _osc(self, payload: str, terminator: str) -> None:
        code, _, text = payload.partition(";")
        if code in ("0", "2"):
            self.screen.set_title(text)
        if code in ("0", "1"):
            self.screen.set_icon_name(text)
        if code in ("10", "11"):
            # xterm: each further parameter is about the next colour, so "10;?;?" asks for both
            for number, value in enumerate(text.split(";"), start=int(code)):
                if value == "?" and number in (10, 11):
                    self.screen.report_colour(number, "\x1b\\" if terminator == "\x9c" else terminator)

    # ---- block path -------------------------------------------------------------------------------------

    def _try_block(self, data: str, pos: int) -> int:
        """At an empty bottom row: swallow the complete plain/SGR lines that follow in one step."""
        match = (ASCII_BLOCK_RE if data.isascii() else BLOCK_RE).match(data, pos)
        if match is None:
            return pos
        screen = self.screen
        columns = screen.columns
        rows: list[list[tuple[str, Any]]] = []
        append = rows.append
        lines = match.group().split("\r\n")
        lines.pop()
        split_sgr = SGR_SPLIT_RE.split
        read_source = self._read_source
        states = self._sgr_states
        default_state = states[screen.default_char]
        state = states[screen.cursor.attrs]
        attrs = state.attrs
        # rows of lines before this one scroll past the top within this block (unless it stops early): they
        # go to history as their source, so they need no segments, only the state they end in
        direct = len(lines) - (screen.lines - 1)
        # bce: a line whose LF (or autowrap) runs with a coloured background brings in a coloured row, and
        # concealed text (SGR 8) must become blanks; plain lines in any other style need neither check
        simple_style = attrs[2] == "default" and not attrs[10]
        taken = len(lines)
        coloured_tail = False
        for number, line in enumerate(lines):
            line_start = state
            if "\x1b" not in line:
                if simple_style:
                    if len(line) <= columns:
                        append([(line, attrs)])
                    else:
                        for start in range(0, len(line), columns):
                            append([(line[start:start + columns], attrs)])
                    continue
                segments = [(" " * len(line) if attrs[10] else line, attrs)]
                used = len(line)
            else:
                if number < direct and len(line) <= columns:
                    # after a final SGR 0 the line ends in the default state whatever came before it
                    last_reset = line.rfind("\x1b[0m")
                    if last_reset < 0 or line.find("\x1b[", last_reset + 4) >= 0:
                        state = reduce(getitem, split_sgr(line)[1::2], state)
                    else:
                        state = default_state
                    segments = BlockRow()  # hollow: filled below if the block stops early and it stays visible
                    used = len(line)
                else:
                    # the SGR sequences of the line walk the state graph in C (accumulate + getitem); each
                    # text takes the attributes of the state reached before it, empty texts are left out
                    parts = split_sgr(line)
                    texts = parts[0::2]
                    walk = list(accumulate(parts[1::2], getitem, initial=state))
                    state = walk[-1]
                    segments = BlockRow(compress(zip(texts, map(_STATE_ATTRS, walk), strict=True), texts))
                    used = sum(map(len, texts))
                    if screen.conceal_seen:  # SGR 8 was used here (maybe in this line): concealed text is blank
                        segments = BlockRow((" " * len(text) if style[10] else text, style) for text, style in segments)
                attrs = state.attrs
                # when this row scrolls off, history keeps the line it came from (decoded only if read)
                segments.source = line
                segments.start = line_start.attrs
                segments.read = read_source
            if used <= columns:
                append(segments)
            elif any(style[2] != "default" for _, style in segments):
                state = line_start  # autowrap would bring in a coloured row: the slow path draws it
                attrs = state.attrs
                taken = number
                break
            else:
                self._append_wrapped(segments, columns, append)
            if attrs[2] != "default":
                taken = number + 1  # this line's LF brings in a coloured row; the slow path goes on from there
                coloured_tail = True
                break
            simple_style = not attrs[10]
        if taken < len(lines):  # fewer rows than planned: rows left hollow may stay on screen
            for row in rows[-(screen.lines - 1):]:
                if not row and type(row) is BlockRow:
                    row[:] = self._block_segments(row.source, row.start)
        screen.cursor.attrs = attrs
        screen.absorb_rows(rows)
        if coloured_tail:
            screen.fill_bottom_row()
        if taken == len(lines):
            return match.end()
        return pos + sum(len(line) + 2 for line in lines[:taken])

    def _block_segments(self, source: str, start: Any) -> list[tuple[str, Any]]:
        """A line the block path cut (text and SGR only), drawn from attributes `start`, as (text, cell
        attrs) segments; concealed text blank."""
        parts = SGR_SPLIT_RE.split(source)
        texts = parts[0::2]
        walk = accumulate(parts[1::2], getitem, initial=self._sgr_states[start])
        return [(" " * len(text) if attrs[10] else text, attrs)
                for text, attrs in zip(texts, map(_STATE_ATTRS, walk), strict=True) if text]

    def _read_source(self, source: str, start: Any) -> list[tuple[str, Style]]:
        """The same as (text, Style) segments: how history reads the lines it keeps as their source (see
        tui.term.scrollback)."""
        style_of_attrs = self.screen.style_of_attrs
        return [(text, style_of_attrs(attrs)) for text, attrs in self._block_segments(source, start)]

    @staticmethod
    def _append_wrapped(segments: list[tuple[str, Any]], columns: int,
                        append: Callable[[list[tuple[str, Any]]], None]) -> None:
        """A line wider than the screen as the rows autowrap makes of it."""
        row: list[tuple[str, Any]] = []
        used = 0
        for text, attrs in segments:
            while text:
                if used == columns:
                    append(row)
                    row = []
                    used = 0
                take = text[:columns - used]
                row.append((take, attrs))
                used += len(take)
                text = text[len(take):]
        append(row)
