"""Django's SQLite backend, with write transactions queued on a file lock beside the database.

Every transaction starts with BEGIN IMMEDIATE, which takes SQLite's one write lock. When another
connection holds it, SQLite's busy handler sleeps and retries in steps of 1, 2, 5, 10, 15, 20,
25 ... ms, so a waiting request often sleeps on after the lock is free: with four requests in
flight on two web workers, about half a core stayed idle and p95 was ten times p50
(bench/README.md, "Ticket creation"). Here each transaction first takes an exclusive `flock` on
`<database>.write-lock`; the kernel wakes the next waiter the moment the holder commits or rolls
back, and by then SQLite's lock is free, so BEGIN IMMEDIATE no longer waits. Processes that do
not use this backend (the sqlite3 shell, a backup) still meet SQLite's own lock and busy timeout
as before. Readers take no lock: WAL lets them run beside the writer.
"""

import fcntl
import os
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock_file: int | None = None  # this connection's descriptor of the lock file
        self._holds_write_lock = False

    def _start_transaction_under_autocommit(self) -> None:
        self._take_write_lock()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_write_lock()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._release_write_lock()
            if self._lock_file is not None:
                os.close(self._lock_file)
                self._lock_file = None

    def _take_write_lock(self) -> None:
        if self._holds_write_lock or self.is_in_memory_db():
            return
        if self._lock_file is None:
            # A descriptor of its own per connection: flock() locks belong to the open file,
            # so two threads of one process queue like two processes do.
            self._lock_file = os.open(
                f"{self.settings_dict['NAME']}.write-lock",
                os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                0o600,
            )
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        self._holds_write_lock = True

    def _release_write_lock(self) -> None:
        if self._holds_write_lock and self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._holds_write_lock = False
