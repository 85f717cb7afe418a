"""Rate limiting of wrong unlock attempts: an exponential delay after each failure and at most N failures
per rolling minute, per key (the server keys by uid, the lock screen by its own user).

It holds only counts and times, never what was typed. `wait_for(key)` says how many seconds are left before
the next attempt is allowed; a success clears the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _History:
    failures: list[float] = field(default_factory=list)  # times of failures in the last window
    streak: int = 0  # consecutive failures, for the exponential delay
    last_failure: float = 0.0


class AttemptLimiter:
    def __init__(self, max_per_minute: int = 5, base_delay: float = 1.0, max_delay: float = 60.0,
                 window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_per_minute = max(1, max_per_minute)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.window = window
        self.clock = clock
        self._keys: dict[object, _History] = {}

    def _history(self, key: object) -> _History:
        history = self._keys.setdefault(key, _History())
        now = self.clock()
        history.failures = [t for t in history.failures if now - t < self.window]
        return history

    def wait_for(self, key: object) -> float:
        """Seconds until `key` may try again (0.0: now)."""
        history = self._history(key)
        if not history.streak:
            return 0.0
        now = self.clock()
        delay = min(self.max_delay, self.base_delay * 2 ** (history.streak - 1))
        wait = history.last_failure + delay - now
        if len(history.failures) >= self.max_per_minute:
            wait = max(wait, history.failures[0] + self.window - now)
        return max(0.0, wait)

    def failure(self, key: object) -> float:
        """Record a wrong attempt; returns the wait before the next one."""
        history = self._history(key)
        now = self.clock()
        history.failures.append(now)
        history.streak += 1
        history.last_failure = now
        return self.wait_for(key)

    def success(self, key: object) -> None:
        self._keys.pop(key, None)

    def failures_in_window(self, key: object) -> int:
        return len(self._history(key).failures)
