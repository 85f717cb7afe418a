"""Fixtures for the lock and multi-user tests; they live in lock_harness.py (a unique module name, so the
tests can import its helpers without clashing with other directories' conftest modules).

pytest runs with --import-mode=importlib (no sys.path changes), so this directory is put on sys.path here.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lock_harness import shared_root, start_session, terminal, users  # noqa: E402

__all__ = ["shared_root", "start_session", "terminal", "users"]
