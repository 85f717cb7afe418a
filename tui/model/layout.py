"""The split-region tree of a session, as in GNU Screen: regions tile the display and each shows a window.

A `Split` lays its children out side by side ("v", screen's `|`) or top to bottom ("h", screen's `S`), each
child getting space in proportion to its weight, with a one-cell separator between neighbours. Leaves are
`Region`s, each showing one window (or none, like screen's blank region after a split).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int


@dataclass(eq=False)
class Region:
    id: int
    window: int | None = None
    weight: float = 1.0
    parent: Split | None = field(default=None, repr=False)


@dataclass(eq=False)
class Split:
    orientation: str  # "h": children stacked top to bottom; "v": children side by side
    children: list[Region | Split] = field(default_factory=list)
    weight: float = 1.0
    parent: Split | None = field(default=None, repr=False)

    def adopt(self, child: Region | Split, index: int | None = None) -> None:
        child.parent = self
        if index is None:
            self.children.append(child)
        else:
            self.children.insert(index, child)


def regions_in_order(node: Region | Split) -> list[Region]:
    """Leaves left-to-right, top-to-bottom: the order C-a tab cycles through."""
    if isinstance(node, Region):
        return [node]
    return [leaf for child in node.children for leaf in regions_in_order(child)]


def split_sizes(total: int, weights: list[float], separators: int) -> list[int]:
    """Share `total - separators` cells by weight; every child gets at least 1 cell when it fits."""
    usable = max(total - separators, 0)
    weight_sum = sum(weights) or 1.0
    sizes = [int(usable * w / weight_sum) for w in weights]
    # hand out the cells lost to rounding, largest remainder first
    remainders = sorted(range(len(weights)), key=lambda i: usable * weights[i] / weight_sum - sizes[i],
                        reverse=True)
    for i in remainders[: usable - sum(sizes)]:
        sizes[i] += 1
    for i, size in enumerate(sizes):
        if size == 0 and usable >= len(sizes):
            donor = max(range(len(sizes)), key=lambda j: sizes[j])
            sizes[donor] -= 1
            sizes[i] = 1
    return sizes


def geometry(node: Region | Split, rect: Rect) -> dict[int, Rect]:
    """Region id → rectangle, for a display area `rect`."""
    if isinstance(node, Region):
        return {node.id: rect}
    gaps = len(node.children) - 1
    along = rect.w if node.orientation == "v" else rect.h
    sizes = split_sizes(along, [child.weight for child in node.children], gaps)
    result: dict[int, Rect] = {}
    offset = 0
    for child, size in zip(node.children, sizes, strict=True):
        if node.orientation == "v":
            child_rect = Rect(rect.x + offset, rect.y, size, rect.h)
        else:
            child_rect = Rect(rect.x, rect.y + offset, rect.w, size)
        result.update(geometry(child, child_rect))
        offset += size + 1
    return result


def describe(node: Region | Split) -> dict:
    """A JSON-able picture of the tree (for tests, -X list output and debugging)."""
    if isinstance(node, Region):
        return {"region": node.id, "window": node.window, "weight": node.weight}
    return {"split": node.orientation, "weight": node.weight, "children": [describe(c) for c in node.children]}
