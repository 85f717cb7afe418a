"""One hascreen session: its numbered windows, the region tree that displays them, and the focus.

Pure data with a `version` counter bumped on every change, so the server knows when to send a new layout.
Window numbers follow GNU Screen: the lowest free number, 0 first; `select` takes a number or a name.
Each window owns exactly one pane (a program); regions show windows, and removing a region never kills one.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.model.layout import Rect, Region, Split, geometry, regions_in_order

MAX_WINDOWS = 100


class ModelError(ValueError):
    """A request the session cannot satisfy; the message is fit for the status line."""


@dataclass
class Window:
    number: int
    name: str
    pane: int
    user_named: bool = False
    activity: bool = False
    bell: bool = False


class Session:
    def __init__(self, name: str) -> None:
        self.name = name
        self.windows: dict[int, Window] = {}
        self._next_region_id = 1
        self.root: Region | Split = Region(self._new_region_id())
        self.focused: Region = self.root  # type: ignore[assignment]
        self.last_window: int | None = None
        self.version = 0

    # ---- bookkeeping -------------------------------------------------------------------------------------
    def _new_region_id(self) -> int:
        region_id = self._next_region_id
        self._next_region_id += 1
        return region_id

    def _changed(self) -> None:
        self.version += 1

    @property
    def regions(self) -> list[Region]:
        return regions_in_order(self.root)

    @property
    def current_window(self) -> Window | None:
        number = self.focused.window
        return self.windows.get(number) if number is not None else None

    def window_by_pane(self, pane: int) -> Window | None:
        return next((w for w in self.windows.values() if w.pane == pane), None)

    def visible_windows(self) -> set[int]:
        return {r.window for r in self.regions if r.window is not None}

    # ---- windows -----------------------------------------------------------------------------------------
    def add_window(self, pane: int, name: str, user_named: bool = False) -> Window:
        free = next((n for n in range(MAX_WINDOWS) if n not in self.windows), None)
        if free is None:
            raise ModelError(f"no more windows: the limit is {MAX_WINDOWS}")
        window = Window(free, name, pane, user_named)
        self.windows[free] = window
        self._show(window.number)
        return window

    def _show(self, number: int) -> None:
        """Show a window in the focused region, remembering the previous one for last-window."""
        previous = self.focused.window
        if previous != number and previous in self.windows:
            self.last_window = previous
        self.focused.window = number
        window = self.windows[number]
        window.activity = window.bell = False
        self._changed()

    def find_window(self, spec: str) -> Window:
        if spec.isdigit() and int(spec) in self.windows:
            return self.windows[int(spec)]
        matches = [w for w in self.windows.values() if w.name == spec]
        if not matches:
            matches = [w for w in self.windows.values() if w.name.startswith(spec)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise ModelError(f"no window {spec!r}")
        raise ModelError(f"{spec!r} matches several windows: {', '.join(w.name for w in matches)}")

    def select(self, spec: str) -> Window:
        window = self.find_window(spec)
        self._show(window.number)
        return window

    def _cycle(self, step: int) -> Window:
        if not self.windows:
            raise ModelError("no windows")
        numbers = sorted(self.windows)
        current = self.focused.window
        if current not in self.windows:
            target = numbers[0] if step > 0 else numbers[-1]
        else:
            target = numbers[(numbers.index(current) + step) % len(numbers)]
        if target == current:
            raise ModelError("no other window")
        self._show(target)
        return self.windows[target]

    def next_window(self) -> Window:
        return self._cycle(1)

    def prev_window(self) -> Window:
        return self._cycle(-1)

    def toggle_last(self) -> Window:
        if self.last_window not in self.windows:
            raise ModelError("no other window")
        target = self.last_window
        self._show(target)  # type: ignore[arg-type]
        return self.windows[target]  # type: ignore[index]

    def rename(self, number: int, name: str, user: bool = True) -> None:
        name = name.strip()
        if not name:
            raise ModelError("a window name cannot be empty")
        window = self.windows[number]
        if not user and window.user_named:
            return  # a title from the program never overrides the user's name
        if window.name != name or (user and not window.user_named):
            window.name = name
            window.user_named = window.user_named or user
            self._changed()

    def remove_window(self, number: int) -> None:
        """The window's program is gone: regions showing it show another window, as screen does."""
        self.windows.pop(number, None)
        if self.last_window == number:
            self.last_window = None
        for region in self.regions:
            if region.window == number:
                region.window = None
        if self.focused.window is None and self.windows:
            candidate = self.last_window if self.last_window in self.windows else None
            if candidate is None:
                hidden = sorted(set(self.windows) - self.visible_windows())
                candidate = hidden[0] if hidden else sorted(self.windows)[0]
            self.focused.window = candidate
            if self.last_window == candidate:
                self.last_window = None
        self._changed()

    def mark(self, pane: int, *, activity: bool = False, bell: bool = False) -> bool:
        """Flag activity/bell on a window that is not on screen; True when that changed something."""
        window = self.window_by_pane(pane)
        if window is None or window.number in self.visible_windows():
            return False
        changed = (activity and not window.activity) or (bell and not window.bell)
        window.activity |= activity
        window.bell |= bell
        if changed:
            self._changed()
        return changed

    # ---- regions -----------------------------------------------------------------------------------------
    def split(self, orientation: str) -> Region:
        if orientation not in ("h", "v"):
            raise ModelError("split takes -h (top/bottom) or -v (side by side)")
        if len(self.regions) >= 16:
            raise ModelError("too many regions")
        region = self.focused
        new_region = Region(self._new_region_id())
        parent = region.parent
        if parent is not None and parent.orientation == orientation:
            parent.adopt(new_region, parent.children.index(region) + 1)
        else:
            split = Split(orientation, weight=region.weight)
            if parent is None:
                self.root = split
            else:
                parent.children[parent.children.index(region)] = split
                split.parent = parent
            region.weight = 1.0
            split.adopt(region)
            split.adopt(new_region)
        # GNU Screen leaves the new region blank; the user fills it with C-a c, n, p or "
        self._changed()
        return new_region

    def focus_step(self, step: int) -> Region:
        regions = self.regions
        if len(regions) == 1:
            raise ModelError("only one region")
        self.focused = regions[(regions.index(self.focused) + step) % len(regions)]
        self._changed()
        return self.focused

    def focus_region(self, region_id: int) -> None:
        region = next((r for r in self.regions if r.id == region_id), None)
        if region is None:
            raise ModelError(f"no region {region_id}")
        if region is not self.focused:
            self.focused = region
            self._changed()

    def remove_region(self) -> None:
        region = self.focused
        parent = region.parent
        if parent is None:
            raise ModelError("only one region")
        order_index = self.regions.index(region)
        parent.children.remove(region)
        if len(parent.children) == 1:  # a split of one is just its child
            only = parent.children[0]
            only.weight = parent.weight
            grand = parent.parent
            only.parent = grand
            if grand is None:
                self.root = only
            else:
                grand.children[grand.children.index(parent)] = only
        remaining = self.regions
        # the focus goes to the region that took the removed one's place in C-a tab order
        self.focused = remaining[min(order_index, len(remaining) - 1)]
        self._changed()

    def only_region(self) -> None:
        region = self.focused
        region.parent = None
        region.weight = 1.0
        self.root = region
        self._changed()

    def resize_region(self, spec: str, display: Rect) -> None:
        """Grow/shrink the focused region along its parent's split by +N/-N cells, or set it to N."""
        region = self.focused
        parent = region.parent
        if parent is None:
            raise ModelError("only one region")
        try:
            amount = int(spec)
        except ValueError:
            raise ModelError(f"resize-region takes +N, -N or N, not {spec!r}") from None
        rects = geometry(self.root, display)

        def extent(node: Region | Split) -> int:
            leaves = regions_in_order(node)
            if parent.orientation == "v":
                return max(rects[r.id].x + rects[r.id].w for r in leaves) - min(rects[r.id].x for r in leaves)
            return max(rects[r.id].y + rects[r.id].h for r in leaves) - min(rects[r.id].y for r in leaves)

        along_total = sum(extent(child) for child in parent.children)
        current = extent(region)
        target = current + amount if spec[0] in "+-" else amount
        target = max(1, min(target, along_total - (len(parent.children) - 1)))
        others = [c for c in parent.children if c is not region]
        other_weight = sum(c.weight for c in others) or 1.0
        rest = max(along_total - target, 1)
        region.weight = target / rest * other_weight
        self._changed()

    # ---- geometry ----------------------------------------------------------------------------------------
    def layout(self, cols: int, rows: int) -> list[tuple[Region, Rect]]:
        rects = geometry(self.root, Rect(0, 0, cols, rows))
        return [(region, rects[region.id]) for region in self.regions]


__all__ = ["MAX_WINDOWS", "ModelError", "Session", "Window"]
