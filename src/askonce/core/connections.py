"""Database connections kept by long-lived threads (the web bridge's, the SMTP intake's)."""

from typing import Any

from django.db import connections


class ThreadConnections:
    """Remembers the connection of each thread that used one, to close them all at shutdown
    from another thread (Django's own way: thread sharing on for the close)."""

    def __init__(self) -> None:
        self.seen: set[Any] = set()

    def note(self) -> None:
        """Called on the thread: its connection is to be closed at shutdown."""
        self.seen.add(connections["default"])

    def close_all(self) -> None:
        for wrapper in list(self.seen):
            wrapper.inc_thread_sharing()
            try:
                wrapper.close()
            finally:
                wrapper.dec_thread_sharing()
