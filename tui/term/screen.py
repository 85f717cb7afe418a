"""The screen model of one pane: pyte's `Screen`, extended where a real terminal needs more.

Owns row storage (cells or segments) and the semantics of every screen operation; where pyte and xterm
differ, xterm's documented behaviour (ctlseqs, the VT manuals) wins. Additions over stock pyte 0.8.2:
- a `Cell` that also carries `dim` (SGR 2) and `conceal` (SGR 8), and an SGR parser with
  256-colour/truecolour clamping;
- a fast `draw` for single-cell text (printable ASCII and `NARROW_CHARS`) that reuses one cell object per
  (character, style) instead of building a namedtuple per cell, `draw_styled` for text interleaved with
  SGR, and a slow path that never drops the rest of a chunk on an unprintable or zero-width character
  (stock pyte stops drawing there) and wraps a wide character that does not fit;
- the alternate screen (modes 47/1047/1049, 1049 with cursor save/restore) and the private modes a pane
  must report (DECCKM, keypad, mouse 1000/1002/1003 + 1006, bracketed paste 2004);
- rows held as segments instead of cells: text drawn in single-cell characters, erases and scrolls keep a row
  as (text, style) segments (`_lazy_rows`), and `rewrite_row`/`rewrite_rows` replace a row that a program
  redraws (`CUP row;1`, text, `EL`: top, vim, status lines) in one step, `rewrite_rows` keeping it as its
  source text (`SourceRow`) until something reads it; a row becomes cells only for what needs them (wide or
  combining characters, ICH/DCH/ECH, insert mode, another charset, `buffer` readers);
- scrollback: lines scrolled off the top of a full-screen scroll region on the main screen go to a
  `Scrollback`, and `absorb_rows` lets the stream push whole blocks of lines there without drawing them;
- background colour erase (bce) on every erase, insert, delete and scroll; IND/RI/CUU/CUD that leave a
  cursor outside the scroll region outside it; pending wrap ended by cursor moves; DECSC/DECRC with one
  saved state per screen; DECSCNM applied at render time; xterm's DEC line-drawing table; DECALN;
- replies collected for the server (DA, DSR, DECRQM, DECRQSS, CSI 18 t, OSC 10/11 colours), BEL and OSC
  title capture, the DECSCUSR cursor shape, CSI S/T/b/Z/I/s/u and DECSTR;
- erases that colour whole rows with the current background, `clear` (ED 2) that keeps the main screen in
  scrollback, ED 3 that keeps history (the console's scrollback is evidence), DECCOLM ignored;
- a resize that keeps the cursor's line (rows below it go first, then the top rows go to scrollback).
Row rendering to protocol runs lives here too because it needs the cell layout.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import reduce
from itertools import groupby, repeat
from operator import getitem, itemgetter
from typing import Any, NamedTuple

import pyte
from pyte import charsets as pyte_charsets
from pyte import graphics as pyte_graphics
from pyte import modes as pyte_modes
from pyte.screens import Margins, Savepoint, StaticDefaultDict, wcwidth

from tui.protocol.messages import (
    ATTR_BLINK,
    ATTR_BOLD,
    ATTR_DIM,
    ATTR_ITALIC,
    ATTR_REVERSE,
    ATTR_STRIKE,
    ATTR_UNDERLINE,
)
from tui.term.scrollback import BlockRow, Run, Scrollback, Style, merge_runs

DECAWM = pyte_modes.DECAWM
IRM = pyte_modes.IRM
DECSCNM = pyte_modes.DECSCNM
DECOM = pyte_modes.DECOM
DECCOLM = pyte_modes.DECCOLM
DECTCEM = pyte_modes.DECTCEM

# DEC Special Graphics (ESC ( 0) as xterm maps it: only 0x60-0x7E change. pyte's VT100_MAP (and tmux's
# table) follow the Linux console and also turn + , - . 0 into arrows and a block and h into #; xterm does
# not, and ctlseqs lists none of those. 0x5F is left alone (xterm's own builds differ on it).
DEC_SPECIAL_GRAPHICS = (pyte_charsets.LAT1_MAP[:0x60] + "◆▒␉␌␍␊°±␤␋┘┐┌└┼⎺⎻─⎼⎽├┤┴┬│≤≥π≠£·"
                        + pyte_charsets.LAT1_MAP[0x7F:])
INITIAL_G1 = DEC_SPECIAL_GRAPHICS  # G1 after a reset, as pyte sets it (SO then draws line drawing)
MOUSE_TRACKING_MODES = (1000, 1002, 1003)
ALT_SCREEN_MODES = (47, 1047, 1049)

# pyte's names for the 16 ANSI colours (kept, so cells compare equal with stock pyte's)
FG_ANSI = {30: "black", 31: "red", 32: "green", 33: "brown", 34: "blue", 35: "magenta", 36: "cyan",
           37: "white"}
BRIGHT = {k + 60: "bright" + v for k, v in FG_ANSI.items()}
PALETTE_256 = pyte_graphics.FG_BG_256

MAX_REPLY_BYTES = 64 * 1024
DEFAULT_FG_RGB = "aaaaaa"
DEFAULT_BG_RGB = "000000"
MAX_TITLE_CHARS = 1024
CELL_CACHE_STYLES = 512  # distinct styles whose per-character cell dicts are kept
SGR_CACHE_SIZE = 4096


class Cell(NamedTuple):
    """One screen cell: pyte's `Char` fields in the same order, plus `dim` and `conceal` (SGR 8). A concealed
    cell's character is stored as a blank (see CellsOfStyle): xterm shows nothing there, and SGR 28 only
    reveals text written after it, so the hidden character can never reappear."""

    data: str
    fg: str = "default"
    bg: str = "default"
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    strikethrough: bool = False
    reverse: bool = False
    blink: bool = False
    dim: bool = False
    conceal: bool = False


DEFAULT_CELL = Cell(" ")
DEFAULT_STYLE_KEY = DEFAULT_CELL[1:]


def style_of(cell_style: tuple[Any, ...]) -> Style:
    """(fg, bg, bold, italics, underscore, strike, reverse, blink, dim, conceal) -> (fg, bg, ATTR bits); a
    concealed cell already holds a blank."""
    fg, bg, bold, italics, underscore, strike, reverse, blink, dim, _conceal = cell_style
    attrs = ((ATTR_BOLD if bold else 0) | (ATTR_DIM if dim else 0) | (ATTR_ITALIC if italics else 0)
             | (ATTR_UNDERLINE if underscore else 0) | (ATTR_REVERSE if reverse else 0)
             | (ATTR_STRIKE if strike else 0) | (ATTR_BLINK if blink else 0))
    return (_PROTOCOL_COLOUR.get(fg, fg), _PROTOCOL_COLOUR.get(bg, bg), attrs)


# pyte calls SGR 33/43 "brown"; the protocol speaks the usual names
_PROTOCOL_COLOUR = {"brown": "yellow", "brightbrown": "brightyellow"}


class StyleCache(dict):  # type: ignore[type-arg]
    """cell-style tuple -> protocol Style, computed once per distinct style."""

    def __missing__(self, key: tuple[Any, ...]) -> Style:
        if len(self) > 4096:
            self.clear()
        value = self[key] = style_of(key)
        return value


class CellsOfStyle(dict):  # type: ignore[type-arg]
    """character -> the shared Cell drawing it in one style."""

    __slots__ = ("attrs",)

    def __init__(self, attrs: Cell) -> None:
        super().__init__()
        self.attrs = attrs

    def __missing__(self, char: str) -> Cell:
        cell = self[char] = self.attrs._replace(data=" " if self.attrs[10] else char)
        return cell


def _narrow_class() -> str:
    """A regex character class of common non-ASCII characters that each take exactly one cell (Latin,
    Greek, Cyrillic, punctuation, arrows, box drawing, blocks, shapes, symbols, dingbats), checked against
    wcwidth at import (the emoji-presentation ones among them are wide and stay out).
    Text made only of these (and printable ASCII) can take the fast paths: one character, one cell."""
    spans = []
    start = None
    candidates = [range(0xA1, 0x300), range(0x370, 0x483), range(0x48A, 0x530), range(0x2010, 0x205F),
                  range(0x2190, 0x2200), range(0x2500, 0x2800)]
    for block in candidates:
        for code in [*block, -1]:  # -1 closes the last span of each block
            ok = code >= 0 and (char := chr(code)).isprintable() and wcwidth(char) == 1 \
                and not unicodedata.combining(char)
            if ok and start is None:
                start = code
            elif not ok and start is not None:
                end = code - 1 if code >= 0 else block[-1]
                spans.append(f"\\u{start:04x}-\\u{end:04x}" if end > start else f"\\u{start:04x}")
                start = None
    return " -~" + "".join(spans)


NARROW_CHARS = _narrow_class()
NARROW_TEXT = re.compile(f"[{NARROW_CHARS}]*")

_CELL_DATA = itemgetter(0)
_CELL_STYLE = itemgetter(slice(1, None))
DEFAULT_STYLE: Style = ("default", "default", 0)


def cell_width(text: str) -> int:
    """Cells a rendered segment covers: wide characters count twice (combining marks are already folded
    into their base character by the screen)."""
    if text.isascii() or NARROW_TEXT.fullmatch(text):
        return len(text)
    return sum(max(0, wcwidth(ch)) for ch in text)


# ---- rows held as segments ------------------------------------------------------------------------------
# A row may be held as a list of (text, Cell-attrs) segments instead of cells: every character takes one cell,
# the segments cover the row from column 0 and the cells past their end are default blanks. Drawing, erasing
# and scrolling work on segments directly, so a row that a program rewrites (top, vim, a prompt) never turns
# into per-cell objects; only operations that need cells (wide or combining characters, ICH/DCH/ECH, insert
# mode, another charset) turn that one row into cells.
MAX_ROW_SEGMENTS = 48  # a row split finer than this is cheaper as cells
_SEGMENT_TEXT = itemgetter(0)
SGR_RESETS = frozenset(("", "0"))  # the parameters of an SGR that resets every attribute

# A row that `rewrite_rows` put in place may be held as its source instead: (the styled text as the program
# sent it, single-cell text and SGR sequences only, narrower than the screen; the attributes in force at its
# start). top and vim redraw most rows many times between two frames a client reads, so segments are built
# only when something reads the row (`TermScreen._segments`); a tuple, never a list, so it is told apart
# from segments by its type.
SourceRow = tuple[str, Cell]


def _no_source_reader(source: str, start: Any) -> list[Any]:
    raise RuntimeError("no stream attached to this screen to read rows held as their source")


class CupRows(dict):  # type: ignore[type-arg]
    """The row parameter of `CSI row ; 1 H` as text -> the screen row it addresses (clamped), memoised."""

    __slots__ = ("lines",)

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.lines = lines

    def __missing__(self, text: str) -> int:
        y = int(text) - 1 if text else 0
        y = 0 if y < 0 else self.lines - 1 if y >= self.lines else y
        if len(self) < 4096:
            self[text] = y
        return y


def segments_cut(segments: list[tuple[str, Cell]], x: int, end: int) -> tuple[list[tuple[str, Cell]],
                                                                            list[tuple[str, Cell]]]:
    """The segments covering columns [0, x) of a row (fewer when the row is shorter) and those from column
    `end` on."""
    head: list[tuple[str, Cell]] = []
    tail: list[tuple[str, Cell]] = []
    used = 0
    for segment in segments:
        text = segment[0]
        stop = used + len(text)
        if stop <= x:
            head.append(segment)
        elif used >= end:
            tail.append(segment)
        else:
            if used < x:
                head.append((text[:x - used], segment[1]))
            if stop > end:
                tail.append((text[end - used:], segment[1]))
        used = stop
    return head, tail


def segments_splice(segments: list[tuple[str, Cell]], x: int, text: str,
                    attrs: Cell) -> list[tuple[str, Cell]]:
    """The row with `text` in style `attrs` written over columns [x, x + len(text)); a gap before x (the row
    was shorter) becomes default blanks. Neighbours in the same style are joined, so typing one character at
    a time does not split a row into one segment per character."""
    head, tail = segments_cut(segments, x, x + len(text))
    used = sum(map(len, map(_SEGMENT_TEXT, head)))
    if used < x:
        head.append((" " * (x - used), DEFAULT_CELL))
    if head and head[-1][1] == attrs:
        text = head.pop()[0] + text
    if tail and tail[0][1] == attrs:
        text += tail.pop(0)[0]
    head.append((text, attrs))
    head += tail
    return head


def cells_to_segments(line: StaticDefaultDict[int, Cell], columns: int) -> list[tuple[str, Cell]] | None:
    """A row of cells as segments, or None when segments cannot hold it (wide or combined characters, cells
    past the right margin, a row whose default cell is not the plain blank)."""
    if line.default is not DEFAULT_CELL:
        return None
    if not line:
        return []
    count = max(line) + 1
    if count > columns:
        return None
    cells = list(map(line.get, range(count), repeat(DEFAULT_CELL, count)))
    text = "".join(map(_CELL_DATA, cells))
    if len(text) != count or not (text.isascii() or NARROW_TEXT.fullmatch(text)):
        return None
    segments: list[tuple[str, Cell]] = []
    offset = 0
    for key, group in groupby(cells, _CELL_STYLE):
        size = len(list(group))
        segments.append((text[offset:offset + size], Cell(" ", *key)))
        offset += size
    return segments


# SGR codes that set one flag: code -> (index in Cell, value)
SGR_FLAGS = {1: (3, True), 2: (9, True), 3: (4, True), 4: (5, True), 21: (5, True), 5: (8, True), 6: (8, True),
             7: (7, True), 8: (10, True), 9: (6, True), 23: (4, False), 24: (5, False), 25: (8, False),
             27: (7, False), 28: (10, False), 29: (6, False)}


def _clamp_byte(value: int) -> int:
    return 0 if value < 0 else 255 if value > 255 else value


class TermScreen(pyte.Screen):
    """pyte.Screen plus the alternate screen, scrollback, replies, modes and the fast paths."""

    def __init__(self, columns: int, lines: int, scrollback: int = 10_000) -> None:
        self.history = Scrollback(scrollback)
        self.style_cache = StyleCache()
        self._cells_by_style: dict[Cell, CellsOfStyle] = {}
        self._sgr_cache: dict[tuple[Cell, tuple[int, ...]], Cell] = {}
        self._sgr_text_cache: dict[tuple[Cell, str], Cell] = {}
        self._sgr_from_default: dict[str, Cell] = {}  # the same for the default style, keyed by the text alone
        self._bce_blanks: dict[str, Cell] = {}
        self.conceal_seen = False  # SGR 8 ever used here (the block path only then blanks concealed text)
        self.parse_sgr: Any = None  # set by the stream: SGR parameter text -> ints
        # set by the stream: its memoised graph of SGR states (attrs -> state; state[params] -> state, .attrs),
        # (source, start attrs) -> (text, attrs) segments, and the same as (text, Style) for history
        self.sgr_states: Any = None
        self.source_segments: Callable[[str, Cell], list[tuple[str, Cell]]] = _no_source_reader
        self.read_source: Callable[[str, Any], list[tuple[str, Style]]] = _no_source_reader
        self._cup_rows = CupRows(max(1, lines))
        # rows the block path put on screen, still as (text, attrs) segments: cells are built only when
        # something reads `buffer` (see absorb_rows); render_row and the next block use them as they are
        # one entry per row: its segments, or None (the row is cells in `_buffer`, or blank), or a row that
        # rewrite_rows put there, still as its source (see SourceRow): read it through `_segments`
        self._lazy_rows: list[list[tuple[str, Cell]] | SourceRow | None] = []
        self.replies = bytearray()
        # what OSC 10/11 report as the default colours: the server cannot see the user's terminal, so
        # these are the Linux console's (light grey on black) until someone sets better ones
        self.default_fg = DEFAULT_FG_RGB
        self.default_bg = DEFAULT_BG_RGB
        self.bell_pending = False
        self.osc_title: str | None = None
        super().__init__(max(1, columns), max(1, lines))

    # ---- state ------------------------------------------------------------------------------------------

    @property
    def default_char(self) -> Cell:  # type: ignore[override]
        # DECSCNM (reverse screen) is applied when rendering, never stored in cells: see reverse_screen
        return DEFAULT_CELL

    @property
    def reverse_screen(self) -> bool:
        """DECSCNM: the whole display is inverted when rows are rendered (Terminal.render_row); cells keep
        their own reverse attribute, so a visual bell (?5h then ?5l) gives every cell back as it was (pyte
        rewrote them all and lost SGR 7)."""
        return DECSCNM in self.mode

    def blank_cell(self) -> Cell:
        """What erasing, inserting, deleting and scrolling leave behind. xterm-256color declares `bce`, so a
        blank takes the current background; only the background (xterm keeps the foreground colour too, but
        a blank never shows it, and bold, underline or reverse are not kept by either xterm or tmux)."""
        bg = self.cursor.attrs[2]
        if bg == "default":
            return self.default_char
        blank = self._bce_blanks.get(bg)
        if blank is None:
            if len(self._bce_blanks) > 1024:  # truecolour backgrounds are many
                self._bce_blanks.clear()
            blank = self._bce_blanks[bg] = DEFAULT_CELL._replace(bg=bg)
        return blank

    def _blank_row(self, blank: Cell) -> StaticDefaultDict[int, Cell]:
        line = StaticDefaultDict(self.default_char)
        line.update(dict.fromkeys(range(self.columns), blank))
        return line

    @property
    def buffer(self) -> defaultdict[int, StaticDefaultDict[int, Cell]]:  # type: ignore[override]
        """The rows of cells; rows still held as block segments become cells first."""
        if self._lazy_rows.count(None) != len(self._lazy_rows):
            self._materialize_rows()
        return self._buffer

    @buffer.setter
    def buffer(self, value: defaultdict[int, StaticDefaultDict[int, Cell]]) -> None:
        self._lazy_rows = [None] * self.lines
        self._buffer = value

    def _materialize_rows(self) -> None:
        for y, segments in enumerate(self._lazy_rows):
            if segments is not None:
                self._row_cells(y)

    def _segments(self, y: int) -> list[tuple[str, Cell]] | None:
        """Row y's segments, or None (the row is cells in `_buffer`, or blank); a row held as its source
        (`SourceRow`) is built into segments first, and stays so."""
        row = self._lazy_rows[y]
        if type(row) is tuple:
            row = self._lazy_rows[y] = self.source_segments(*row) or None
        return row  # type: ignore[return-value]

    def _row_cells(self, y: int) -> StaticDefaultDict[int, Cell]:
        """Row y as cells, for the operations that need them (a row held as segments becomes cells)."""
        segments = self._segments(y)
        self._lazy_rows[y] = None
        line = self._buffer[y]
        if segments:
            x = 0
            for text, attrs in segments:
                if text:
                    line.update(zip(range(x, x + len(text)), map(self.cells_for(attrs).__getitem__, text),
                                    strict=False))
                    x += len(text)
        return line

    def _move_rows(self, targets: range, offset: int) -> None:
        """Each row y of `targets`, in that order, takes what row y + offset holds (cells or segments)."""
        if targets:
            # the rows of segments move as one slice (the same as row by row: every source is read before
            # it is overwritten, whichever way the rows move)
            low = min(targets.start, targets[-1])
            high = max(targets.start, targets[-1]) + 1
            self._lazy_rows[low:high] = self._lazy_rows[low + offset:high + offset]
        rows = self._buffer
        if rows:
            get = rows.get
            pop = rows.pop
            for y in targets:
                moved = get(y + offset)
                if moved is None:
                    pop(y, None)
                else:
                    rows[y] = moved

    def _drop_row(self, y: int) -> None:
        """Row y becomes default blanks."""
        self._buffer.pop(y, None)
        self._lazy_rows[y] = None

    def _push_row_history(self, y: int) -> None:
        """Row y, cells or segments, to scrollback (a row held as its source goes there as that source)."""
        row = self._lazy_rows[y]
        if type(row) is tuple:
            self.history.append_source(*row, self.read_source)
        elif not row:
            self.push_history(self._buffer.get(y))
        elif len(row) == 1 and row[0][1] == DEFAULT_CELL:  # a plain line: just its text
            self.history.append_plain(row[0][0])
        else:
            self.history.append_row(row, self.style_of_attrs)

    def _new_buffer(self) -> defaultdict[int, StaticDefaultDict[int, Cell]]:
        return defaultdict(lambda: StaticDefaultDict(self.default_char))

    def reset(self) -> None:
        super().reset()
        self.g1_charset = INITIAL_G1
        self.cursor.attrs = self.default_char
        self.alt_active = False
        self._main_buffer: defaultdict[int, StaticDefaultDict[int, Cell]] | None = None
        self.app_cursor = False
        self.app_keypad = False
        self.bracketed_paste = False
        self.mouse_mode = 0
        self.mouse_sgr = False
        self.cursor_shape = 0  # DECSCUSR; 0 is the user's default
        self.savepoints = []  # pyte's DECSC stack, unused: see saved_cursors
        # DECSC state, one per screen as in xterm (False: main, True: alternate); DECRC does not consume it
        self.saved_cursors: dict[bool, Savepoint] = {}
        self.last_char = " "
        self._charset_is_plain = True
        self._draw_attrs: Cell | None = None  # the attrs whose cell lookup draw() used last
        self._draw_get: Any = None

    def _update_charset_flag(self) -> None:
        active = self.g1_charset if self.charset else self.g0_charset
        self._charset_is_plain = active is pyte_charsets.LAT1_MAP

    def define_charset(self, code: str, mode: str) -> None:
        if code == "0" and mode in "()":
            if mode == "(":
                self.g0_charset = DEC_SPECIAL_GRAPHICS
            else:
                self.g1_charset = DEC_SPECIAL_GRAPHICS
        else:
            super().define_charset(code, mode)
        self._update_charset_flag()

    def shift_in(self) -> None:
        super().shift_in()
        self._update_charset_flag()

    def shift_out(self) -> None:
        super().shift_out()
        self._update_charset_flag()

    def cells_for(self, attrs: Cell) -> CellsOfStyle:
        cells = self._cells_by_style.get(attrs)
        if cells is None:
            if len(self._cells_by_style) >= CELL_CACHE_STYLES:
                self._cells_by_style.clear()
                self._draw_attrs = None
            cells = self._cells_by_style[attrs] = CellsOfStyle(attrs)
        return cells

    # ---- drawing ----------------------------------------------------------------------------------------

    def draw(self, data: str) -> None:
        # one character per cell: printable ASCII (TermStream never passes C0 controls or DEL as text) or
        # the common narrow characters of NARROW_TEXT
        if not ((data.isascii() or NARROW_TEXT.fullmatch(data)) and self._charset_is_plain
                and IRM not in self.mode):
            self._draw_slow(data)
            return
        cursor = self.cursor
        columns = self.columns
        length = len(data)
        if cursor.x + length <= columns:  # the common case: it fits on this row
            self._draw_in_row(data)
        else:
            autowrap = DECAWM in self.mode
            done = 0
            while done < length:
                if cursor.x >= columns:
                    if not autowrap:
                        # without autowrap every further character overwrites the last column
                        cursor.x = columns - 1
                        self._draw_in_row(data[-1])
                        break
                    self.dirty.add(cursor.y)
                    cursor.x = 0
                    self.linefeed()
                take = min(length - done, columns - cursor.x)
                self._draw_in_row(data[done:done + take])
                done += take
        if cursor.x >= columns and DECAWM not in self.mode:
            cursor.x = columns - 1  # without autowrap there is no pending wrap: the cursor stays on the last column
        self.last_char = data[-1]

    def _draw_in_row(self, data: str) -> None:
        """Single-cell text that fits between the cursor and the right margin; the cursor moves past it (to
        the pending-wrap column when it ends at the margin)."""
        cursor = self.cursor
        y = cursor.y
        x = cursor.x
        attrs = cursor.attrs
        self.dirty.add(y)
        line = self._buffer.get(y)
        segments: list[tuple[str, Cell]] | None = None
        if line:
            segments = cells_to_segments(line, self.columns) if x == 0 else None
            if segments is None:  # cells stay cells
                if attrs is self._draw_attrs:
                    get_cell = self._draw_get
                else:
                    get_cell = self._draw_get = self.cells_for(attrs).__getitem__
                    self._draw_attrs = attrs
                line.update(zip(range(x, x + len(data)), map(get_cell, data), strict=False))
                cursor.x = x + len(data)
                return
            del self._buffer[y]
        elif line is not None:
            del self._buffer[y]  # an empty row of cells is the same as no row
        elif x or len(data) < self.columns:
            segments = self._segments(y)
        # else: the text covers the whole row (top's header), whatever the row held is not read
        text = " " * len(data) if attrs[10] else data  # concealed text is kept as blanks
        if not segments:
            row = [(" " * x, DEFAULT_CELL), (text, attrs)] if x else [(text, attrs)]
        else:
            row = segments_splice(segments, x, text, attrs)
        self._lazy_rows[y] = row
        cursor.x = x + len(data)
        if len(row) > MAX_ROW_SEGMENTS:
            self._row_cells(y)

    def draw_styled(self, parts: list[str]) -> None:
        """Text interleaved with SGR parameters, as `re.split` on `ESC [ params m` gives it:
        [text, params, text, params, text ...]; one call instead of one per sequence."""
        cursor = self.cursor
        draw = self.draw
        known = self._sgr_text_cache.get
        transition = self.sgr_transition
        default = self.default_char
        if parts[0]:
            draw(parts[0])
        for index in range(1, len(parts), 2):
            params = parts[index]
            if params == "0" or not params:
                cursor.attrs = default
            else:
                cursor.attrs = known((cursor.attrs, params)) or transition(cursor.attrs, params)
            text = parts[index + 1]
            if text:
                draw(text)

    def rewrite_row(self, parts: list[str]) -> bool:
        """Styled text written from the first column, then EL 0: how `CUP text CSI K` redraws a row (top, vim,
        a status line). The row becomes the text's segments in one step, whatever it held. `parts` are as for
        `draw_styled`. Returns False, having done nothing, when this shortcut does not apply (the caller then
        draws and erases as usual): the cursor is not at the first column, the text is not all single-cell,
        reaches the right margin, or insert mode or another charset is on."""
        cursor = self.cursor
        if cursor.x or not self._charset_is_plain or IRM in self.mode:
            return False
        visible = "".join(parts[0::2]) if len(parts) > 1 else parts[0]
        if len(visible) >= self.columns or not (visible.isascii() or NARROW_TEXT.fullmatch(visible)):
            return False
        self._put_rows([(cursor.y, parts, visible)])
        return True

    def rewrite_rows(self, rows: Iterator[re.Match[str]], split: Callable[[str], list[str]]) -> int:
        """Rows redrawn one after another, as top redraws its screen: each match is `CUP row;1` (the row
        number in group 1), maybe CR LF (group 2: vim and less scroll a region at its bottom and write the
        new row), styled text (group 3: single-cell characters and SGR sequences only; group 4: the parameters
        of its last SGR sequence) and EL. Each row is put in place as `rewrite_row` does, in one loop, but held
        as its source (`SourceRow`): segments are built only if someone reads the row before it is redrawn
        again. Stops before the first row whose text reaches the right margin and returns where the rows it
        took end, or -1 when it took none (the caller then parses on as usual)."""
        if not self._charset_is_plain or IRM in self.mode or (self.margins is not None and DECOM in self.mode):
            return -1
        columns = self.columns
        cup_rows = self._cup_rows
        lazy = self._lazy_rows
        buffer = self._buffer
        states = self.sgr_states
        attrs = self.cursor.attrs
        taken: list[int] = []
        take = taken.append
        last_match = None
        for match in rows:
            line, linefeed, text, last_sgr = match.group(1, 2, 3, 4)
            if len(text) >= columns and len("".join(split(text)[0::2])) >= columns:
                break
            start = attrs
            # the attributes the row leaves: the default when its last SGR is a reset (top and vim end their
            # coloured fields so), else its SGR sequences walk the state graph
            if last_sgr in SGR_RESETS:
                attrs = DEFAULT_CELL
            elif last_sgr is not None:
                attrs = reduce(getitem, split(text)[1::2], states[attrs]).attrs
            y = cup_rows[line]
            if linefeed:  # CR LF after the CUP: the row below, or at the bottom margin the region scrolls
                cursor = self.cursor
                cursor.x = 0
                cursor.y = y
                cursor.attrs = start
                self.index()  # (LNM's carriage return: the cursor is at the first column already)
                y = cursor.y
            if buffer:
                buffer.pop(y, None)
            if attrs[2] != "default":  # EL takes the background (bce): this row is built now
                self.cursor.attrs = attrs
                row = self.source_segments(text, start)
                used = sum(map(len, map(_SEGMENT_TEXT, row)))
                row.append((" " * (columns - used), self.blank_cell()))
                lazy[y] = row
            else:
                lazy[y] = (text, start) if text else None
            take(y)
            last_match = match
        if last_match is None:
            return -1
        source = last_match.group(3)
        cursor = self.cursor
        cursor.attrs = attrs
        visible = "".join(split(source)[0::2]) if "\x1b" in source else source
        cursor.x = len(visible)
        cursor.y = taken[-1]
        if visible:
            self.last_char = visible[-1]
        self.dirty.update(taken)
        return last_match.end()

    def _put_rows(self, rows: list[tuple[int, list[str], str]]) -> None:
        """Each (y, parts, visible) in turn: row y becomes the styled text `parts` (visible text `visible`,
        single-cell, narrower than the screen) followed by an erase to the end of the row; the cursor ends
        after the last text, in the style it leaves."""
        cursor = self.cursor
        attrs = cursor.attrs
        from_default = self._sgr_from_default
        known = self._sgr_text_cache.get
        transition = self.sgr_transition
        buffer = self._buffer
        lazy = self._lazy_rows
        conceal = self.conceal_seen
        columns = self.columns
        for y, parts, visible in rows:
            text = parts[0]
            row: list[tuple[str, Cell]] = [(text, attrs)] if text else []
            if len(parts) > 1:
                for params, text in zip(parts[1::2], parts[2::2], strict=True):
                    if params == "0" or not params:
                        attrs = DEFAULT_CELL
                    elif attrs is DEFAULT_CELL:
                        attrs = from_default.get(params) or transition(attrs, params)
                    else:
                        attrs = known((attrs, params)) or transition(attrs, params)
                    if text:
                        row.append((text, attrs))
            if conceal:  # concealed text is kept as blanks
                row = [(" " * len(text) if style[10] else text, style) for text, style in row]
            if attrs[2] != "default":  # EL takes the background (bce)
                cursor.attrs = attrs
                row.append((" " * (columns - len(visible)), self.blank_cell()))
            if y in buffer:
                del buffer[y]
            lazy[y] = row or None
        cursor.attrs = attrs
        cursor.x = len(visible)
        cursor.y = y
        if visible:
            self.last_char = visible[-1]
        self.dirty.update([row[0] for row in rows])

    def _draw_slow(self, data: str) -> None:
        """pyte's per-character draw, except that unprintable and zero-width characters never stop it and
        a wide character that does not fit in the last column wraps first."""
        data = data.translate(self.g1_charset if self.charset else self.g0_charset)
        cursor = self.cursor
        for char in data:
            width = wcwidth(char)
            if width < 0:
                continue
            if width == 0:
                self._combine(char)
                continue
            if cursor.x == self.columns or (width == 2 and cursor.x == self.columns - 1):
                if DECAWM in self.mode:
                    if cursor.x < self.columns:
                        self._row_cells(cursor.y)[cursor.x] = cursor.attrs
                    self.dirty.add(cursor.y)
                    self.carriage_return()
                    self.linefeed()
                else:
                    cursor.x = self.columns - width
            if IRM in self.mode:
                self.insert_characters(width)
            line = self._row_cells(cursor.y)
            line[cursor.x] = cursor.attrs._replace(data=" " if cursor.attrs[10] else char)
            if width == 2 and cursor.x + 1 < self.columns:
                line[cursor.x + 1] = cursor.attrs._replace(data="")
            cursor.x = min(cursor.x + width, self.columns)
            if cursor.x == self.columns and DECAWM not in self.mode:
                cursor.x -= 1  # no autowrap, no pending wrap
            self.last_char = char
        self.dirty.add(cursor.y)

    def _combine(self, char: str) -> None:
        """Attach a zero-width character to the previous cell of this line. At the first column there is
        none: like xterm (which, after a cursor move, combines with the cell under the cursor) the mark goes
        on the cell at the cursor, never on the row above (a character written in the last column leaves a
        pending wrap, so its marks still find it on its own row)."""
        cursor = self.cursor
        line = self._row_cells(cursor.y)
        if cursor.x:
            x = cursor.x - 1
            if line[x].data == "" and x:  # the stub of a wide character: combine with the character itself
                x -= 1
        else:
            x = 0
        last = line[x]
        if len(last.data) > 32 or last[10]:  # bound a cell's length against floods of combining marks;
            return  # a concealed cell shows nothing
        combined = last.data + char
        if unicodedata.combining(char):
            combined = unicodedata.normalize("NFC", combined)
        line[x] = last._replace(data=combined)
        self.dirty.add(cursor.y)

    def alignment_display(self) -> None:
        """DECALN (ESC # 8): every cell an E in the default style, the margins reset, the cursor home."""
        self.margins = None
        self.cursor.x = self.cursor.y = 0
        letter = self.cells_for(self.default_char)["E"]
        row = dict.fromkeys(range(self.columns), letter)
        for y in range(self.lines):
            self.buffer[y] = line = StaticDefaultDict(self.default_char)
            line.update(row)
        self.dirty.update(range(self.lines))

    def repeat_last_character(self, count: int | None = None) -> None:
        """REP (CSI n b): draw the last graphic character again, n times."""
        count = min(count or 1, self.columns * self.lines)
        self.draw(self.last_char * count)

    # ---- scrolling and scrollback -------------------------------------------------------------------

    def index(self) -> None:
        """IND / LF as xterm does it: a pending wrap ends; at the bottom margin the region scrolls and the new
        bottom row takes the background (bce); below the region the cursor only moves down, never scrolls,
        and stops at the last row (stock pyte pulls it back into the region)."""
        cursor = self.cursor
        columns = self.columns
        if cursor.x >= columns:
            cursor.x = columns - 1
        last = self.lines - 1
        margins = self.margins
        top, bottom = (0, last) if margins is None else margins
        if cursor.y != bottom:
            if cursor.y < last:
                cursor.y += 1
            return
        if top == 0 and bottom == last and not self.alt_active:
            self._push_row_history(0)
        self.dirty.update(range(top, bottom + 1))
        if self._buffer:
            self._move_rows(range(top, bottom), 1)
            self._fill_blank_rows(bottom, bottom + 1)
            return
        # no row is cells (top, vim, less): the rows move up as one list operation, a blank row comes in
        lazy = self._lazy_rows
        del lazy[top]
        lazy.insert(bottom, None if cursor.attrs[2] == "default" else [(" " * columns, self.blank_cell())])

    def reverse_index(self) -> None:
        """RI: the mirror of `index` (scrolls down at the top margin, bce; above the region it only moves up)."""
        cursor = self.cursor
        if cursor.x >= self.columns:
            cursor.x = self.columns - 1
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if cursor.y != top:
            if cursor.y > 0:
                cursor.y -= 1
            return
        self.dirty.update(range(top, bottom + 1))
        self._move_rows(range(bottom, top, -1), -1)
        self._fill_blank_rows(top, top + 1)

    def _fill_blank_rows(self, start: int, stop: int) -> None:
        """Rows [start, stop) become blank rows in the current background (bce)."""
        blank = self.blank_cell()
        for y in range(start, stop):
            self._drop_row(y)
        if blank is not self.default_char:
            for y in range(start, stop):
                self._lazy_rows[y] = [(" " * self.columns, blank)]

    def fill_bottom_row(self) -> None:
        """The bottom row blank in the current background, as the LF that scrolled it in leaves it (bce)."""
        self._fill_blank_rows(self.lines - 1, self.lines)

    def insert_lines(self, count: int | None = None) -> None:
        """IL: ignored outside the scroll region; the inserted rows take the background (bce)."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        start = self.cursor.y
        if not top <= start <= bottom:
            return
        count = min(count or 1, bottom - start + 1)
        self.dirty.update(range(start, bottom + 1))
        self._move_rows(range(bottom, start + count - 1, -1), -count)
        self._fill_blank_rows(start, start + count)
        self.carriage_return()

    def delete_lines(self, count: int | None = None) -> None:
        """DL: ignored outside the scroll region; the rows coming in at the bottom margin take the
        background (bce)."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        start = self.cursor.y
        if not top <= start <= bottom:
            return
        count = min(count or 1, bottom - start + 1)
        self.dirty.update(range(start, bottom + 1))
        self._move_rows(range(start, bottom + 1 - count), count)
        self._fill_blank_rows(bottom + 1 - count, bottom + 1)
        self.carriage_return()

    def insert_characters(self, count: int | None = None) -> None:
        """ICH: cells from the cursor shift right (the last ones fall off); the gap takes the background."""
        self._shift_cells(count or 1, right=True)

    def delete_characters(self, count: int | None = None) -> None:
        """DCH: cells right of the deleted ones shift left; the cells freed at the right margin take the
        background (bce)."""
        self._shift_cells(count or 1, right=False)

    def _shift_cells(self, count: int, right: bool) -> None:
        """Shift the cells from the cursor to the right margin by `count`, right (ICH) or left (DCH); the
        cells that open up take the current background (bce)."""
        cursor = self.cursor
        self.dirty.add(cursor.y)
        start = cursor.x
        columns = self.columns
        if start >= columns:
            return
        count = min(count, columns - start)
        line = self._row_cells(cursor.y)
        if right:
            moved = {x + count: cell for x, cell in line.items() if start <= x < columns - count}
            opened = range(start, start + count)
        else:
            moved = {x - count: cell for x, cell in line.items() if start + count <= x < columns}
            opened = range(columns - count, columns)
        for x in [x for x in line if x >= start]:
            del line[x]
        line.update(moved)
        blank = self.blank_cell()
        if blank != line.default:
            line.update(dict.fromkeys(opened, blank))

    def erase_characters(self, count: int | None = None) -> None:
        """ECH: blanks in the current background (bce), the cursor stays."""
        cursor = self.cursor
        self.dirty.add(cursor.y)
        stop = min(cursor.x + (count or 1), self.columns)
        blank = self.blank_cell()
        line = self._row_cells(cursor.y)
        if blank == line.default:
            for x in range(cursor.x, stop):
                line.pop(x, None)
        else:
            line.update(dict.fromkeys(range(cursor.x, stop), blank))

    def style_of_attrs(self, attrs: Cell) -> Style:
        return self.style_cache[attrs[1:]]

    def push_history(self, line: StaticDefaultDict[int, Cell] | None) -> None:
        history = self.history
        if not history.limit:
            return
        if not line:
            history.append_plain("")
            return
        segments = self.line_segments(line)
        if len(segments) == 1 and segments[0][1] == ("default", "default", 0):
            history.append_plain(segments[0][0])
        else:
            history.append_styled(segments)

    def scroll_up(self, count: int | None = None) -> None:
        """SU (CSI n S): scroll the region up; the cursor stays."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        saved = (self.cursor.x, self.cursor.y)
        self.cursor.y = bottom
        for _ in range(min(count or 1, bottom - top + 1)):
            self.index()
        self.cursor.x, self.cursor.y = saved

    def scroll_down(self, count: int | None = None) -> None:
        """SD (CSI n T): scroll the region down; the cursor stays."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        saved = (self.cursor.x, self.cursor.y)
        self.cursor.y = top
        for _ in range(min(count or 1, bottom - top + 1)):
            self.reverse_index()
        self.cursor.x, self.cursor.y = saved

    def ready_for_block(self) -> bool:
        """True when the next complete lines could go straight to scrollback: the cursor sits at the start
        of an empty bottom row of a full-screen scroll region on the main screen, in plain modes."""
        cursor = self.cursor
        return (cursor.x == 0 and cursor.y == self.lines - 1 and self.margins is None
                and not self.alt_active and not self._buffer.get(cursor.y) and self._lazy_rows[cursor.y] is None
                and self._charset_is_plain and DECAWM in self.mode and IRM not in self.mode
                and DECSCNM not in self.mode)

    def absorb_rows(self, rows: list[list[tuple[str, Cell]]]) -> None:
        """Apply rows that were each drawn on the bottom row and then scrolled by CR LF, as if done one by
        one through `draw` and `linefeed` (requires `ready_for_block()`). Each row is a list of (single-cell
        text, cell attrs) segments at most `columns` characters long; a `BlockRow` goes to history as its
        source line, and one that scrolls past the top in this call may be hollow (no segments). Rows that scroll past the top go to
        scrollback without ever becoming cells; the rows still visible afterwards are kept as segments
        (`_lazy_rows`) until something needs their cells, so a block costs O(its lines), not O(screen):
        a pty hands over about 4 KiB at a time, and each of those blocks scrolls the screen."""
        count = len(rows)
        if not count:
            return
        lines = self.lines
        buffer = self._buffer
        lazy = self._lazy_rows
        keep_old = lines - 1  # old rows 0..lines-2 sit above the (empty) bottom row
        history = self.history
        if history.limit:
            for y in range(min(count, keep_old)):
                self._push_row_history(y)
        if count > keep_old and history.limit:
            first_visible = count - keep_old
            start = max(0, first_visible - history.limit)  # older rows would fall out at once
            append_row = history.append_row
            append_plain = history.lines.append
            style_of_attrs = self.style_of_attrs
            for row in rows[start:first_visible]:
                if len(row) == 1 and row[0][1] == DEFAULT_CELL:  # a plain line: just its text
                    append_plain(row[0][0].rstrip(" "))
                else:
                    append_row(row, style_of_attrs)
        # rows move up in place (callers such as draw may hold the buffer across a line feed)
        new_lazy: list[list[tuple[str, Cell]] | None] = [None] * lines
        for y in range(lines):
            source = count + y
            old = buffer.pop(source, None) if source < keep_old else None
            if old:
                buffer[y] = old
                continue
            buffer.pop(y, None)
            if source < keep_old:
                new_lazy[y] = lazy[source]
            elif source - keep_old < count:
                row = rows[source - keep_old]
                for text, _attrs in row:
                    if text:
                        new_lazy[y] = row
                        break
        self._lazy_rows = new_lazy
        for row in reversed(rows):
            if not row and type(row) is BlockRow:  # a row that went to history as its source line
                row = row.read(row.source, row.start)
            texts = [text for text, _ in row if text]
            if texts:
                self.last_char = texts[-1][-1]
                break
        self.dirty.update(range(lines))

    # ---- rendering --------------------------------------------------------------------------------------

    def line_segments(self, line: StaticDefaultDict[int, Cell]) -> list[tuple[str, Style]]:
        """A row as (text, style) segments, wide characters once, trailing default blanks dropped."""
        columns = self.columns
        default = line.default
        style_cache = self.style_cache
        segments: list[tuple[str, Style]] = []
        if line:
            last = max(line)
            if last >= columns:
                last = max((x for x in line if x < columns), default=-1)
            count = last + 1
            cells = list(map(line.get, range(count), repeat(default, count)))
            text = "".join(map(_CELL_DATA, cells))
            if not count:
                pass
            elif len(text) == count and (text.isascii() or NARROW_TEXT.fullmatch(text)):
                # one character per cell: group styles with C-level loops
                keys = list(map(_CELL_STYLE, cells))
                first = keys[0] if keys else None
                if keys.count(first) == count:
                    segments.append((text, style_cache[first]))
                else:
                    offset = 0
                    for key, group in groupby(keys):
                        size = len(list(group))
                        segments.append((text[offset:offset + size], style_cache[key]))
                        offset += size
            else:
                segments = self._segments_per_cell(cells, columns)
        default_key = default[1:]
        if default_key != DEFAULT_STYLE_KEY:
            # a row whose default cell is not the plain blank: its blank tail must stay visible
            used = sum(cell_width(text) for text, _ in segments)
            if used < columns:
                segments.append((" " * (columns - used), style_cache[default_key]))
            return segments
        while segments and segments[-1][1] == DEFAULT_STYLE:
            stripped = segments[-1][0].rstrip(" ")
            if stripped:
                segments[-1] = (stripped, segments[-1][1])
                break
            segments.pop()
        return segments

    def _segments_per_cell(self, cells: list[Cell], columns: int) -> list[tuple[str, Style]]:
        """The general case: wide characters (skip their stub cell), combining marks, orphaned stubs."""
        style_cache = self.style_cache
        segments: list[tuple[str, Style]] = []
        chars: list[str] = []
        current_key: tuple[Any, ...] | None = None
        skip_stub = False
        for x, cell in enumerate(cells):
            data = cell[0]
            if data == "":
                if skip_stub:
                    skip_stub = False
                    continue
                data = " "
            elif data >= "\u1100" and wcwidth(data[0]) == 2:
                if x + 1 >= columns or (x + 1 < len(cells) and cells[x + 1][0] != ""):
                    # cut by a resize, or its right half was overwritten: what is left is a blank
                    data = " "
                    skip_stub = False
                else:
                    skip_stub = True
            else:
                skip_stub = False
            key = cell[1:]
            if key != current_key:
                if chars:
                    segments.append(("".join(chars), style_cache[current_key]))
                    chars = []
                current_key = key
            chars.append(data)
        if chars:
            segments.append(("".join(chars), style_cache[current_key]))
        return segments

    def render_row(self, y: int) -> list[Run]:
        """Row y as runs covering exactly `columns` cells (blank default runs pad the end)."""
        if not 0 <= y < self.lines:
            return []
        lazy = self._segments(y)
        if lazy is not None:  # single-cell text in block segments (see absorb_rows)
            style_of_attrs = self.style_of_attrs
            block_runs: list[Run] = [(text, *style_of_attrs(attrs)) for text, attrs in lazy if text]
            used = sum(len(run[0]) for run in block_runs)
            if used < self.columns:
                block_runs.append((" " * (self.columns - used), "default", "default", 0))
            return merge_runs(block_runs) if len(block_runs) > 1 else block_runs
        line = self._buffer.get(y)
        if not line:
            segments: list[tuple[str, Style]] = []
            default_key = self.default_char[1:]
            if default_key != DEFAULT_STYLE_KEY:
                return [(" " * self.columns, *self.style_cache[default_key])]
        else:
            segments = self.line_segments(line)
        runs: list[Run] = [(text, fg, bg, attrs) for text, (fg, bg, attrs) in segments if text]
        used = 0
        for text, *_ in runs:
            used += cell_width(text)
        if used < self.columns:
            runs.append((" " * (self.columns - used), "default", "default", 0))
        return merge_runs(runs) if len(runs) > 1 else runs

    def row_text(self, y: int) -> str:
        return "".join(run[0] for run in self.render_row(y))

    # ---- SGR --------------------------------------------------------------------------------------------

    def select_graphic_rendition(self, *attrs: int) -> None:
        if not attrs or attrs == (0,):
            self.cursor.attrs = self.default_char
            return
        key = (self.cursor.attrs, attrs)
        found = self._sgr_cache.get(key)
        if found is None:
            if len(self._sgr_cache) >= SGR_CACHE_SIZE:
                self._sgr_cache.clear()
            found = self._sgr_cache[key] = self._apply_sgr(self.cursor.attrs, attrs)
        self.cursor.attrs = found

    def sgr_transition(self, attrs: Cell, params: str) -> Cell:
        """The attributes after `CSI params m` applied to `attrs` (memoised on the raw parameter text)."""
        if params == "0" or not params:
            return self.default_char
        key = (attrs, params)
        found = self._sgr_text_cache.get(key)
        if found is None:
            if len(self._sgr_text_cache) >= SGR_CACHE_SIZE:
                self._sgr_text_cache.clear()
            saved = self.cursor.attrs
            self.cursor.attrs = attrs
            self.select_graphic_rendition(*self.parse_sgr(params))
            found = self._sgr_text_cache[key] = self.cursor.attrs
            self.cursor.attrs = saved
            if attrs is DEFAULT_CELL:
                if len(self._sgr_from_default) >= SGR_CACHE_SIZE:
                    self._sgr_from_default.clear()
                self._sgr_from_default[params] = found
        return found

    def _apply_sgr(self, current: Cell, attrs: tuple[int, ...]) -> Cell:
        fields = list(current)  # data, fg, bg, bold, italics, underscore, strike, reverse, blink, dim, conceal
        params = attrs
        i = 0
        count = len(params)
        while i < count:
            code = params[i]
            i += 1
            flag = SGR_FLAGS.get(code)
            if flag is not None:
                fields[flag[0]] = flag[1]
                if code == 8:
                    self.conceal_seen = True  # from now on the block path checks its segments for it
            elif code == 0:
                fields = list(self.default_char)
            elif code == 22:
                fields[3] = fields[9] = False
            elif 30 <= code <= 37:
                fields[1] = FG_ANSI[code]
            elif code == 39:
                fields[1] = "default"
            elif 40 <= code <= 47:
                fields[2] = FG_ANSI[code - 10]
            elif code == 49:
                fields[2] = "default"
            elif 90 <= code <= 97:
                fields[1] = BRIGHT[code]
            elif 100 <= code <= 107:
                fields[2] = BRIGHT[code - 10]
            elif code in (38, 48, 58):
                if i >= count:
                    break
                kind = params[i]
                i += 1
                colour = None
                if kind == 5:
                    if i >= count:
                        break
                    if 0 <= params[i] <= 255:
                        colour = PALETTE_256[params[i]]
                    i += 1
                elif kind == 2:
                    if i + 3 > count:
                        break
                    r, g, b = (_clamp_byte(v) for v in params[i:i + 3])
                    colour = f"{r:02x}{g:02x}{b:02x}"
                    i += 3
                else:
                    break
                if colour is not None and code != 58:  # 58 (underline colour) is parsed, not shown
                    fields[1 if code == 38 else 2] = colour
        return Cell(*fields)

    # ---- modes ------------------------------------------------------------------------------------------

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if modes == (25,) and kwargs.get("private"):  # DECTCEM: show the cursor (top and vim, every frame)
            self.mode.add(DECTCEM)
            self.cursor.hidden = False
            return
        if kwargs.get("private"):
            rest = []
            for mode in modes:
                if mode in ALT_SCREEN_MODES:
                    self.enter_alternate_screen(mode)
                elif mode in MOUSE_TRACKING_MODES:
                    self.mouse_mode = mode
                elif mode == 1006:
                    self.mouse_sgr = True
                elif mode == 2004:
                    self.bracketed_paste = True
                elif mode == 1:
                    self.app_cursor = True
                elif mode == 66:
                    self.app_keypad = True
                elif mode == 1048:
                    self.save_cursor()
                elif mode == 5:
                    self.mode.add(DECSCNM)
                    self.dirty.update(range(self.lines))
                elif mode in (6, 7, 25):  # the private modes pyte implements (DECCOLM 3 is ignored)
                    rest.append(mode)
            if rest:
                super().set_mode(*rest, private=True)
        else:
            super().set_mode(*[m for m in modes if m in (4, 20)])

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if modes == (25,) and kwargs.get("private"):  # DECTCEM: hide the cursor
            self.mode.discard(DECTCEM)
            self.cursor.hidden = True
            return
        if kwargs.get("private"):
            rest = []
            for mode in modes:
                if mode in ALT_SCREEN_MODES:
                    self.exit_alternate_screen(mode)
                elif mode in MOUSE_TRACKING_MODES:
                    if self.mouse_mode == mode:
                        self.mouse_mode = 0
                elif mode == 1006:
                    self.mouse_sgr = False
                elif mode == 2004:
                    self.bracketed_paste = False
                elif mode == 1:
                    self.app_cursor = False
                elif mode == 66:
                    self.app_keypad = False
                elif mode == 1048:
                    self.restore_cursor()
                elif mode == 5:
                    self.mode.discard(DECSCNM)
                    self.dirty.update(range(self.lines))
                elif mode in (6, 7, 25):
                    rest.append(mode)
            if rest:
                super().reset_mode(*rest, private=True)
        else:
            super().reset_mode(*[m for m in modes if m in (4, 20)])

    def set_keypad_application(self) -> None:
        self.app_keypad = True

    def set_keypad_numeric(self) -> None:
        self.app_keypad = False

    def enter_alternate_screen(self, mode: int) -> None:
        """47/1047/1049 set; 1049 first saves the cursor as DECSC does, in the main screen's slot."""
        if mode == 1049 and not self.alt_active:
            self.save_cursor()
        if self.alt_active:
            if mode != 47:
                self.buffer.clear()
                self.dirty.update(range(self.lines))
            return
        self._main_buffer = self.buffer
        self.buffer = self._new_buffer()
        self.alt_active = True
        self.dirty.update(range(self.lines))

    def exit_alternate_screen(self, mode: int) -> None:
        """47/1047/1049 reset; 1049 then restores the cursor as DECRC does, even when the main screen was
        already showing (xterm does; dialog and whiptail exit that way)."""
        if self.alt_active and self._main_buffer is not None:
            self.buffer = self._main_buffer
            self._main_buffer = None
            self.alt_active = False
            self.dirty.update(range(self.lines))
        if mode == 1049:
            self.restore_cursor()

    def soft_reset(self) -> None:
        """DECSTR (CSI ! p)."""
        self.mode.discard(IRM)
        self.mode.discard(DECOM)
        self.mode.add(DECAWM)
        self.mode.add(DECTCEM)
        self.cursor.hidden = False
        self.margins = None
        self.app_cursor = self.app_keypad = False
        self.cursor.attrs = self.default_char
        self.saved_cursors.pop(self.alt_active, None)  # DECRC now goes home
        self.g0_charset = self.g1_charset = pyte_charsets.LAT1_MAP
        self.charset = 0
        self._update_charset_flag()

    # ---- erasing ----------------------------------------------------------------------------------------

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        """Like pyte's, but erased rows take the current background in full (bce: the background only, as in
        xterm's ClearCells; pyte only recolours cells that were written before, with every attribute), and
        erasing to the default style simply drops rows. Clearing the main
        screen (ED 2, what `clear` sends) first moves its text into scrollback, like tmux's scroll-on-clear;
        ED 3 (erase saved lines) is ignored: the console keeps its history as evidence."""
        if how == 0:
            rows = range(self.cursor.y + 1, self.lines)
        elif how == 1:
            rows = range(self.cursor.y)
        elif how == 2:
            rows = range(self.lines)
            if not self.alt_active:
                used = [y for y, line in self._buffer.items() if line and y < self.lines]
                used += [y for y in range(self.lines) if self._segments(y) is not None]
                for y in range(max(used) + 1 if used else 0):
                    self._push_row_history(y)
        else:
            return
        self.dirty.update(rows)
        self._fill_blank_rows(rows.start, rows.stop)
        if how in (0, 1):
            self.erase_in_line(how)

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        """pyte's semantics with dict-level operations instead of a Python loop per cell; erased cells are
        `blank_cell()` (bce, no attributes), not the cursor's full style."""
        cursor = self.cursor
        if how == 0:
            start, stop = cursor.x, self.columns
        elif how == 1:
            start, stop = 0, min(cursor.x + 1, self.columns)
        elif how == 2:
            start, stop = 0, self.columns
        else:
            return
        self.dirty.add(cursor.y)
        attrs = self.blank_cell()
        line = self._buffer.get(cursor.y)
        if line is None:
            segments = self._segments(cursor.y)
            if segments is None and attrs is self.default_char:
                return
            self._erase_segments(segments or [], start, stop, attrs)
            return
        if attrs == line.default:
            # an erased cell equal to the row's default is the same as no cell: drop cells, touching only
            # the columns between the erased range and the row's written extent
            if not line:
                return
            if start == 0 and stop >= self.columns:
                line.clear()
                return
            pop = line.pop
            if stop >= self.columns:
                for x in range(start, max(line) + 1):
                    pop(x, None)
            else:
                for x in range(max(start, min(line)), stop):
                    pop(x, None)
        else:
            line.update(dict.fromkeys(range(start, stop), attrs))

    def _erase_segments(self, segments: list[tuple[str, Cell]], start: int, stop: int, blank: Cell) -> None:
        """erase_in_line on a row held as segments (or an empty row): columns [start, stop) become `blank`."""
        y = self.cursor.y
        columns = self.columns
        if stop >= columns:
            row = segments_cut(segments, start, columns)[0]
            if blank is not self.default_char and start < columns:
                used = sum(map(len, map(_SEGMENT_TEXT, row)))
                if used < start:
                    row.append((" " * (start - used), DEFAULT_CELL))
                row.append((" " * (columns - start), blank))
        else:
            row = segments_splice(segments, start, " " * (stop - start), blank)
        if row:
            self._lazy_rows[y] = row
        else:
            self._lazy_rows[y] = None

    # ---- cursor and tabs --------------------------------------------------------------------------------

    def save_cursor(self) -> None:
        """DECSC: position (and pending wrap), attributes, charsets and origin mode, in this screen's one
        slot; saving again replaces it (pyte keeps a stack)."""
        self.saved_cursors[self.alt_active] = Savepoint(copy.copy(self.cursor), self.g0_charset,
                                                        self.g1_charset, self.charset, DECOM in self.mode,
                                                        DECAWM in self.mode)

    def restore_cursor(self) -> None:
        """DECRC: back to the saved state, which stays saved: restoring twice goes to the same place (pyte
        pops a stack, so a second restore went home). With nothing saved: the power-on state (home, default
        attributes and charsets, origin mode off). DECAWM and cursor visibility are not part of it."""
        saved = self.saved_cursors.get(self.alt_active)
        hidden = self.cursor.hidden
        if saved is None:
            cursor = pyte.screens.Cursor(0, 0, self.default_char)
            self.g0_charset, self.g1_charset, self.charset = pyte_charsets.LAT1_MAP, INITIAL_G1, 0
            origin = False
        else:
            cursor = copy.copy(saved.cursor)
            self.g0_charset, self.g1_charset, self.charset = saved.g0_charset, saved.g1_charset, saved.charset
            origin = saved.origin
        self._update_charset_flag()
        if origin:
            self.mode.add(DECOM)
        else:
            self.mode.discard(DECOM)
        cursor.hidden = hidden
        cursor.x = min(cursor.x, self.columns)  # the column past the last one is a pending wrap, kept
        cursor.y = min(cursor.y, self.lines - 1)
        self.cursor = cursor

    def cursor_up(self, count: int | None = None) -> None:
        """CUU as xterm's CursorUp: stops at the top margin only when starting at or below it (else at the
        top row), and ends a pending wrap."""
        cursor = self.cursor
        top = self.margins.top if self.margins is not None and cursor.y >= self.margins.top else 0
        cursor.y = max(cursor.y - (count or 1), top)
        if cursor.x >= self.columns:
            cursor.x = self.columns - 1

    def cursor_down(self, count: int | None = None) -> None:
        """CUD as xterm's CursorDown: stops at the bottom margin only when starting at or above it (else at
        the last row), and ends a pending wrap."""
        cursor = self.cursor
        bottom = (self.margins.bottom if self.margins is not None and cursor.y <= self.margins.bottom
                  else self.lines - 1)
        cursor.y = min(cursor.y + (count or 1), bottom)
        if cursor.x >= self.columns:
            cursor.x = self.columns - 1

    def cursor_position(self, line: int | None = None, column: int | None = None) -> None:
        """pyte's CUP without its generic bound checks in the common case (no origin mode)."""
        if self.margins is not None and DECOM in self.mode:
            # origin mode: relative to the top margin and clamped to the region (pyte ignored a CUP beyond it)
            top, bottom = self.margins
            self.cursor.x = min((column or 1) - 1, self.columns - 1)
            self.cursor.y = min(top + (line or 1) - 1, bottom)
            return
        x = (column or 1) - 1
        y = (line or 1) - 1
        cursor = self.cursor
        cursor.x = x if x < self.columns else self.columns - 1
        cursor.y = y if y < self.lines else self.lines - 1

    def cursor_to_line(self, line: int | None = None) -> None:
        """VPA; pyte asserts when origin mode is on without margins, here that just means no offset. A
        pending wrap ends (xterm's CursorSet)."""
        self.cursor.x = min(self.cursor.x, self.columns - 1)
        self.cursor.y = (line or 1) - 1
        if DECOM in self.mode and self.margins is not None:
            self.cursor.y += self.margins.top
        self.ensure_vbounds()

    def tab_forward(self, count: int | None = None) -> None:
        for _ in range(min(count or 1, self.columns)):
            self.tab()

    def tab_backward(self, count: int | None = None) -> None:
        for _ in range(min(count or 1, self.columns)):
            stops = [stop for stop in self.tabstops if stop < self.cursor.x]
            self.cursor.x = max(stops) if stops else 0

    def save_cursor_sco(self, *params: int) -> None:
        if not any(params):
            self.save_cursor()

    # ---- replies, bell, title ---------------------------------------------------------------------------

    def write_process_input(self, data: str) -> None:
        if len(self.replies) < MAX_REPLY_BYTES:
            self.replies += data.encode()

    def report_mode(self, mode: int, private: bool) -> None:
        """DECRQM (CSI ? Ps $ p, CSI Ps $ p): 1 set, 2 reset, 4 permanently reset, 0 not recognised."""
        if private:
            flags = {1: self.app_cursor, 5: DECSCNM in self.mode, 6: DECOM in self.mode,
                     7: DECAWM in self.mode, 25: not self.cursor.hidden, 47: self.alt_active,
                     1047: self.alt_active, 1049: self.alt_active, 66: self.app_keypad,
                     1000: self.mouse_mode == 1000, 1002: self.mouse_mode == 1002,
                     1003: self.mouse_mode == 1003, 1006: self.mouse_sgr, 2004: self.bracketed_paste}
            state = (1 if flags[mode] else 2) if mode in flags else 4 if mode == 3 else 0  # DECCOLM: ignored
            self.write_process_input(f"\x1b[?{mode};{state}$y")
        else:
            flags = {4: IRM in self.mode, 20: pyte_modes.LNM in self.mode}
            state = (1 if flags[mode] else 2) if mode in flags else 0
            self.write_process_input(f"\x1b[{mode};{state}$y")

    def report_window(self, operation: int) -> None:
        """XTWINOPS reports: 18 (text area in characters) is answered. 14 (pixels) and 19 (the whole
        screen) are not: the server knows neither the cell size nor the user's display."""
        if operation == 18:
            self.write_process_input(f"\x1b[8;{self.lines};{self.columns}t")

    def report_colour(self, code: int, terminator: str) -> None:
        """OSC 10/11 ? (default foreground/background) in xterm's form, ended as the query was."""
        rgb = self.default_fg if code == 10 else self.default_bg
        red, green, blue = rgb[0:2], rgb[2:4], rgb[4:6]
        self.write_process_input(f"\x1b]{code};rgb:{red}{red}/{green}{green}/{blue}{blue}{terminator}")

    def report_setting(self, request: str) -> None:
        """DECRQSS (DCS $ q Pt ST) for the cursor shape and the scroll region; anything else is invalid."""
        if request == " q":
            # 0 (the default shape) is reported as such: the user's terminal decides what it looks like
            self.write_process_input(f"\x1bP1$r{self.cursor_shape} q\x1b\\")
        elif request == "r":
            top, bottom = self.margins or Margins(0, self.lines - 1)
            self.write_process_input(f"\x1bP1$r{top + 1};{bottom + 1}r\x1b\\")
        else:
            self.write_process_input("\x1bP0$r\x1b\\")

    def report_device_attributes(self, mode: int = 0, **kwargs: Any) -> None:
        if mode == 0:
            self.write_process_input("\x1b[?1;2c")  # VT100 with advanced video, as tmux answers

    def report_secondary_attributes(self) -> None:
        self.write_process_input("\x1b[>0;0;0c")

    def report_device_status(self, mode: int = 0, **kwargs: Any) -> None:
        if mode == 5:
            self.write_process_input("\x1b[0n")
        elif mode == 6:
            x = min(self.cursor.x, self.columns - 1) + 1
            y = self.cursor.y + 1
            if DECOM in self.mode and self.margins is not None:
                y -= self.margins.top
            self.write_process_input(f"\x1b[{y};{x}R")

    def set_cursor_shape(self, shape: int = 0) -> None:
        """DECSCUSR (CSI Ps SP q): odd shapes blink, even ones are steady; unknown values are ignored."""
        if 0 <= shape <= 6:
            self.cursor_shape = shape

    def bell(self, *args: Any) -> None:
        self.bell_pending = True

    def set_title(self, param: str) -> None:
        cleaned = "".join(ch for ch in param if ch.isprintable())[:MAX_TITLE_CHARS]
        self.title = self.osc_title = cleaned

    def set_icon_name(self, param: str) -> None:
        self.icon_name = param[:MAX_TITLE_CHARS]

    # ---- resize -----------------------------------------------------------------------------------------

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Keep the cursor's line: when rows go, empty rows below the cursor go first, then the top rows
        (into scrollback on the main screen). Columns are cut or added on the right."""
        lines = max(1, lines or self.lines)
        columns = max(1, columns or self.columns)
        if lines == self.lines and columns == self.columns:
            return
        if lines < self.lines:
            if self._main_buffer is not None:
                main_saved = self.saved_cursors.get(False)
                saved_y = main_saved.cursor.y if main_saved else self.cursor.y
                main_shift = self._shrink_rows(self._main_buffer, saved_y, lines, to_history=True)
                if main_saved:
                    main_saved.cursor.y = max(0, saved_y - main_shift)
            shift = self._shrink_rows(self.buffer, self.cursor.y, lines, to_history=not self.alt_active)
            self.cursor.y -= shift
            own_saved = self.saved_cursors.get(self.alt_active)
            if own_saved:
                own_saved.cursor.y = max(0, own_saved.cursor.y - shift)
        if columns < self.columns:
            for buffer in (self.buffer, self._main_buffer):
                for line in (buffer or {}).values():
                    for x in [x for x in line if x >= columns]:
                        del line[x]
        elif columns > self.columns:
            self.tabstops.update(range((self.columns // 8 + 1) * 8, columns, 8))
        self.tabstops = {stop for stop in self.tabstops if stop < columns}
        # rows of segments stay where they are when rows or columns are added (cutting either made them cells)
        self._lazy_rows = (self._lazy_rows + [None] * lines)[:lines]
        self._cup_rows = CupRows(lines)
        self.lines, self.columns = lines, columns
        self.margins = None
        self.cursor.x = min(self.cursor.x, columns - 1)
        self.cursor.y = min(max(0, self.cursor.y), lines - 1)
        for savepoint in self.saved_cursors.values():
            savepoint.cursor.x = min(savepoint.cursor.x, columns - 1)
            savepoint.cursor.y = min(savepoint.cursor.y, lines - 1)
        self.dirty.update(range(lines))

    def _shrink_rows(self, buffer: dict[int, Any], cursor_y: int, lines: int, to_history: bool) -> int:
        """Cut `buffer` from self.lines to `lines` rows; return how far the rows moved up. Empty rows
        below the cursor go first, then top rows (never the cursor's own), then whatever is left below."""
        excess = self.lines - lines
        bottom = self.lines - 1
        while excess and bottom > cursor_y and not buffer.get(bottom):
            buffer.pop(bottom, None)
            bottom -= 1
            excess -= 1
        shift = min(excess, cursor_y)
        if shift:
            for y in range(shift):
                line = buffer.pop(y, None)
                if to_history:
                    self.push_history(line)
            for y in range(shift, self.lines):
                line = buffer.pop(y, None)
                if line is not None:
                    buffer[y - shift] = line
        for y in [y for y in buffer if y >= lines]:
            del buffer[y]
        return shift
