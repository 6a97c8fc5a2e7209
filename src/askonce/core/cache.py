"""Small per-process caches with a time limit, for look-ups made on every request or mail.

Each cache is registered so tests (and admin actions that change the cached things) can clear
them all at once.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

_all: list[Any] = []


class TimedCache[Value]:
    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[object, tuple[float, Value]] = {}
        self._lock = threading.Lock()
        _all.append(self)

    def get(self, key: object, load: Callable[[], Value | None]) -> Value | None:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        if value is not None:
            self.put(key, value)
        return value

    def put(self, key: object, value: Value) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.seconds, value)

    def holds(self, key: object) -> bool:
        """Whether `get(key)` would answer without loading."""
        entry = self._entries.get(key)
        return entry is not None and entry[0] > time.monotonic()

    def forget(self, key: object) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def clear_all_caches() -> None:
    for cache in _all:
        cache.clear()
