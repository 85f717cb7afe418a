"""Pure session state: Session → Windows → a tree of regions with weights. No I/O, no asyncio."""

from tui.model.layout import Rect, Region, Split
from tui.model.session import ModelError, Session, Window

__all__ = ["ModelError", "Rect", "Region", "Session", "Split", "Window"]
