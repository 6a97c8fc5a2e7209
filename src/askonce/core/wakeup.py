"""Waking the worker when a task is committed, instead of leaving it to the next poll.

A page's mail queued by the SMTP intake or the web server used to wait for the worker's next
look at the queue (every second: up to a second on every page). Each worker now binds a Unix
datagram socket in DATA_DIR/run/wake/ and sleeps on it between looks; enqueueing a task sends
one byte to every socket there once the transaction that holds the task commits.

It is only a hint: a lost datagram, a worker on another machine or a data directory whose path
is too long for a socket leave the poll interval as the bound, exactly as before.
"""

import contextlib
import logging
import os
import select
import socket
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def wake_folder() -> Path:
    return Path(settings.DATA_DIR) / "run" / "wake"


def wake_workers() -> None:
    """Nudge every worker on this machine (cheap: one listdir and a datagram per worker)."""
    folder = wake_folder()
    try:
        names = [name for name in os.listdir(folder) if name.endswith(".sock")]
    except OSError:
        return  # no worker has ever listened here
    if not names:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for name in names:
            path = folder / name
            try:
                sender.sendto(b"!", str(path))
            except BlockingIOError:
                pass  # its queue is full of nudges already: it will wake
            except ConnectionRefusedError:
                # Nobody listens: a worker that was killed. Remove its socket.
                with contextlib.suppress(OSError):
                    path.unlink()
            except OSError:
                pass


def wake_after_commit(**kwargs: Any) -> None:
    """Receiver of django.tasks' `task_enqueued`: wake the workers once the task is visible."""
    transaction.on_commit(wake_workers, robust=True)


class Alarm:
    """A worker's end: `wait(seconds)` returns early when a task is committed anywhere here."""

    def __init__(self) -> None:
        self.path = wake_folder() / f"{os.getpid()}.sock"
        self.socket: socket.socket | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            listener.bind(str(self.path))
            listener.setblocking(False)
            self.socket = listener
        except OSError as error:  # e.g. a path longer than a socket address allows
            logger.warning("worker cannot listen for wake-ups (%s); polling only", error)

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when woken. Nudges sent while busy wake it at once."""
        if self.socket is None:
            select.select([], [], [], seconds)
            return False
        ready, _, _ = select.select([self.socket], [], [], seconds)
        if not ready:
            return False
        with contextlib.suppress(BlockingIOError):
            while self.socket.recv(16):
                pass
        return True

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None
            with contextlib.suppress(OSError):
                self.path.unlink()
