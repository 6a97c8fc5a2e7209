"""The built-in SMTP server: the mail door into the same actions as the API.

RCPT is refused (550) for addresses that are not ours. DATA is answered 250 only after the
message is committed; a transient fault answers 451 so the sending server retries; 5xx is kept
for unknown recipients, policy and size. Every message that got past RCPT is stored, whatever
becomes of it.

Two processes share the work. The SMTP front (mail/smtp_front.py, started here as a child)
speaks the protocol and parses each message; this process — Django and the database — decides
and stores, and tells the front what to answer. See smtp_front.py for why and for the wire
format; `IntakeServer` is this side of it.
"""

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import (
    DatabaseError,
    DataError,
    close_old_connections,
    connection,
    connections,
)

from askonce.core.connections import ThreadConnections
from askonce.mail.actions import MailRejected, do_receive_mails, do_store_unprocessable_mail
from askonce.mail.pipe import READY, frame, take_frames
from askonce.mail.routing import route_for

logger = logging.getLogger("askonce.smtpd")

Mail = tuple[int, bytes, str, list[str], Any]  # request id, raw, envelope sender, rcpts, parsed


class IntakeServer:
    """Starts the SMTP front and stores what it receives, in batches (group commit).

    One thread reads the front's requests. Messages are stored in shared transactions: each
    batch is every message that arrived while the one before was being stored (at most
    MAX_BATCH), so an idle server stores a message at once and a busy one pays for one commit
    (and one mail-delivery task) per batch, not per message. A batch is stored all or nothing
    first, and one by one, each message in its savepoint, if that fails (`do_receive_mails`);
    every answer, 250 included, is sent only after the batch's commit.

    By default the reading thread stores each batch itself; meanwhile the front's requests wait
    in the pipe and make the next batch. On PostgreSQL, which takes writers side by side,
    `SMTP_DB_WRITERS` threads can store batches instead while the reading thread goes on
    reading; on two cores they only shared one interpreter lock and were slower.

    If the front dies, it is started again (at most once a second); the sessions it had open
    never got an answer, so their clients send again.
    """

    MAX_BATCH = 64
    READY_TIMEOUT = 30.0  # seconds for the front to start listening

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.front: subprocess.Popen[bytes] | None = None
        self.reader: threading.Thread | None = None
        self.stopping = threading.Event()
        self.answer_lock = threading.Lock()
        self.writers = 0 if connection.vendor == "sqlite" else settings.SMTP_DB_WRITERS
        self.executor = (
            ThreadPoolExecutor(self.writers, thread_name_prefix="askonce-intake")
            if self.writers
            else None
        )
        self.waiting: list[Mail] = []  # PostgreSQL: read, for the next free writer
        self.busy = 0
        self.queue_lock = threading.Lock()
        self.writer_connections = ThreadConnections()  # closed on stop
        self.buffer = bytearray()  # what the front sent that is not a whole frame yet

    # -- the front process -------------------------------------------------------------------

    def start(self) -> None:
        """Start the front and return once it listens; raises if it cannot."""
        self._start_front()
        self.reader = threading.Thread(target=self._read, name="askonce-smtpd", daemon=True)
        self.reader.start()

    def stop(self) -> None:
        self.stopping.set()
        front = self.front
        if front is not None:
            assert front.stdin is not None
            front.stdin.close()  # end of file: the front stops
            try:
                front.wait(timeout=5)
            except subprocess.TimeoutExpired:
                front.kill()
                front.wait()
        if self.reader is not None:
            self.reader.join(timeout=10)
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        self.writer_connections.close_all()

    def _start_front(self) -> None:
        front = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "askonce.mail.smtp_front", json.dumps(front_config(self))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert front.stdout is not None
        self.buffer = bytearray()
        ready = self._frames(front.stdout.fileno(), timeout=self.READY_TIMEOUT, wanted=1)
        if not ready or ready[0][0] != READY or ready[0][1] is not None:
            front.kill()
            front.wait()
            why = ready[0][1] if ready else "the SMTP front did not start"
            raise OSError(f"the SMTP intake cannot listen on {self.host}:{self.port}: {why}")
        self.front = front

    def _frames(
        self, source: int, *, timeout: float | None = None, wanted: int = 0
    ) -> list[tuple[int, Any]] | None:
        """Complete frames: waits for the first (None at end of file), then takes what is
        there."""
        frames: list[tuple[int, Any]] = []
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            frames += take_frames(self.buffer)
            if frames and (wanted or not select.select([source], [], [], 0)[0]):
                return frames
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([source], [], [], left)[0]:
                    return frames
            chunk = os.read(source, 1 << 20)
            if not chunk:
                return frames or None
            self.buffer += chunk

    def _read(self) -> None:
        """The reading thread: answer recipient checks, store (or queue) messages."""
        try:
            self._read_until_stopped()
        finally:
            connections.close_all()

    def _read_until_stopped(self) -> None:
        while not self.stopping.is_set():
            front = self.front
            assert front is not None and front.stdout is not None
            frames = self._frames(front.stdout.fileno())
            if frames is None:  # the front exited
                if self.stopping.is_set():
                    return
                logger.error("the SMTP front process exited (code %s); restarting it", front.wait())
                self._restart_front()
                continue
            mails: list[Mail] = []
            for ident, request in frames:
                if request[0] == "rcpt":
                    self._answer(ident, _check_recipient(request[1]))
                else:
                    mails.append((ident, *request[1:]))
            if self.executor is None:
                for start in range(0, len(mails), self.MAX_BATCH):
                    self._store_and_answer(mails[start : start + self.MAX_BATCH])
            elif mails:
                with self.queue_lock:
                    self.waiting.extend(mails)
                self._hand_out()

    def _restart_front(self) -> None:
        while not self.stopping.is_set():
            time.sleep(1.0)
            try:
                self._start_front()
                return
            except OSError:
                logger.exception("restarting the SMTP front failed; trying again")

    def _answer(self, ident: int, reply: str) -> None:
        front = self.front
        if front is None or front.stdin is None:
            return
        try:
            with self.answer_lock:
                front.stdin.write(frame(ident, reply))
                front.stdin.flush()
        except (BrokenPipeError, ValueError):  # the front is gone: its sessions with it
            pass

    # -- storing -----------------------------------------------------------------------------

    def _hand_out(self) -> None:
        """PostgreSQL: give each free writer a batch of what is waiting."""
        assert self.executor is not None
        with self.queue_lock:
            while self.waiting and self.busy < self.writers:
                batch = self.waiting[: self.MAX_BATCH]
                del self.waiting[: self.MAX_BATCH]
                self.busy += 1
                self.executor.submit(self._writer_batch, batch)

    def _writer_batch(self, batch: list[Mail]) -> None:
        self.writer_connections.note()
        try:
            self._store_and_answer(batch)
        finally:
            with self.queue_lock:
                self.busy -= 1
            self._hand_out()

    def _store_and_answer(self, batch: list[Mail]) -> None:
        if not batch:
            return
        outcomes = store_batch(
            [
                {
                    "raw": raw,
                    "envelope_sender": sender,
                    "recipients": recipients,
                    "channel": "smtp",
                    "parsed": parsed,
                }
                for _, raw, sender, recipients, parsed in batch
            ]
        )
        for (ident, raw, sender, recipients, _), outcome in zip(batch, outcomes, strict=True):
            self._answer(ident, smtp_reply(outcome, raw, sender, recipients))


def store_batch(messages: list[dict[str, Any]]) -> list[Any]:
    """Each message's Intake, or the exception it failed with; one commit for all of them
    (`do_receive_mails`).

    The thread's connection is looked at (`close_old_connections`: with health checks on, one
    round trip) at most once a second while all goes well, and after any batch with a failure,
    so a connection the database dropped costs one batch's 451s, then is replaced."""
    now = time.monotonic()
    if now - getattr(_connection_checked, "at", 0.0) >= CONNECTION_CHECK_SECONDS:
        close_old_connections()
        _connection_checked.at = now
    outcomes = list(do_receive_mails(messages))
    if any(isinstance(outcome, BaseException) for outcome in outcomes):
        close_old_connections()
        _connection_checked.at = 0.0
    return outcomes


CONNECTION_CHECK_SECONDS = 1.0
_connection_checked = threading.local()


def smtp_reply(outcome: Any, raw: bytes, sender: str, recipients: list[str]) -> str:
    """What the front answers to DATA, given what became of the message."""
    if not isinstance(outcome, BaseException):
        return str(outcome.smtp_reply)
    if isinstance(outcome, MailRejected):
        _keep(raw, sender, recipients, f"refused: {outcome.message}")
        return f"{outcome.code} {outcome.message}"
    if isinstance(outcome, DataError):  # this message's own data: a retry would fail the same
        return _keep_for_review(raw, sender, recipients, outcome)
    if isinstance(outcome, DatabaseError | OSError | MemoryError | TimeoutError):
        logger.error("intake failed transiently; the sender will retry", exc_info=outcome)
        return "451 4.3.0 Temporary failure storing the message; please retry"
    return _keep_for_review(raw, sender, recipients, outcome)  # a bug must not lose the mail


def _keep_for_review(raw: bytes, sender: str, recipients: list[str], error: BaseException) -> str:
    logger.error("intake failed on a message; keeping it for review", exc_info=error)
    if _keep(raw, sender, recipients, f"{error.__class__.__name__}: {error}"):
        return "250 2.0.0 Accepted; kept for review by an administrator"
    return "451 4.3.0 Temporary failure storing the message; please retry"


def _keep(raw: bytes, sender: str, recipients: list[str], error: str) -> bool:
    try:
        _with_fresh_connections(
            do_store_unprocessable_mail,
            raw=raw,
            envelope_sender=sender,
            recipients=recipients,
            channel="smtp",
            error=error,
        )
    except Exception:
        logger.exception("could not keep a refused message")
        return False
    return True


def _check_recipient(address: str) -> str:
    try:
        route = _with_fresh_connections(route_for, address=address)
    except DatabaseError:
        logger.exception("recipient check failed")
        return "451 4.3.0 Temporary failure checking the recipient; please retry"
    if route is None:
        return f"550 5.1.1 <{address}>: no such mailbox here"
    return "250 2.1.5 OK"


def _with_fresh_connections(function: Callable[..., Any], **arguments: Any) -> Any:
    """Run Django code as a request would: with fresh-enough connections before and after."""
    close_old_connections()
    try:
        return function(**arguments)
    finally:
        close_old_connections()


def front_config(server: IntakeServer) -> dict[str, Any]:
    """What the front needs of the settings (it has no Django)."""
    return {
        "host": server.host,
        "port": server.port,
        "max_bytes": settings.SMTP_MAX_BYTES,
        "tls_cert": settings.SMTP_TLS_CERT,
        "tls_key": settings.SMTP_TLS_KEY,
        "auth_users": settings.SMTP_AUTH_USERS,
        "fixed_addresses": [settings.SUPPORT_ADDRESS, settings.EMERGENCY_ADDRESS],
        "server_hostname": settings.MAIL_DOMAIN,
        "log_level": logging.getLevelName(logging.getLogger().getEffectiveLevel()),
    }


def make_server(host: str, port: int) -> IntakeServer:
    return IntakeServer(host, port)
