"""The built-in SMTP server (aiosmtpd): the mail door into the same actions as the API.

RCPT is refused (550) for addresses that are not ours. DATA is answered 250 only after the
message is committed; a transient fault answers 451 so the sending server retries; 5xx is kept
for unknown recipients, policy and size. Every message that got past RCPT is stored, whatever
becomes of it.
"""

import asyncio
import functools
import logging
import re
import ssl
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from django.conf import settings
from django.db import DatabaseError, DataError, close_old_connections, connection, transaction

from askonce.mail.actions import MailRejected, do_receive_mail, do_store_unprocessable_mail
from askonce.mail.routing import fixed_route_for, route_for
from askonce.notify.actions import mail_sent_together

logger = logging.getLogger("askonce.smtpd")
# A NUL in MAIL FROM would make PostgreSQL refuse the row, and the sender retry for days.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@contextmanager
def _loop_paused() -> Iterator[None]:
    """Run blocking Django code on the event loop's own thread, on purpose.

    Django refuses ORM calls from a thread with a running event loop (they would stall it).
    Storing a batch is meant to stall the SMTP loop: every session of the batch is waiting for
    its answer anyway, and what arrives meanwhile waits in the kernel's socket buffers. Doing it
    on this thread instead of handing it to a writer thread saves the hand-over of the GIL
    between two threads on two cores, which cost more CPU than the SMTP protocol itself (bench/
    README.md, "Mail intake"). The loop is detached only for the duration of the call.
    """
    loop = asyncio.get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


class GroupCommitter:
    """Stores messages from every SMTP session in shared transactions (group commit).

    Sessions hand their message over and wait. A batch is stored once no session is still in
    the middle of sending one (between MAIL FROM and the end of DATA), or WAIT_FOR_OTHERS after
    the first message of the batch, whichever comes first: right after a commit every client
    gets its 250 at once and starts its next message, so waiting those few round trips turns
    batches of one into batches of all of them. Intake runs for each message in its own
    savepoint — one bad message rolls back only itself — and the batch commits once; then every
    session of the batch gets its answer. So the 250 still comes only after the commit, and a
    busy server pays for one commit (and one mail-delivery task) per batch, not per message.

    Where batches are stored depends on the database. SQLite has one writer at a time and
    answers in microseconds: batches are stored on the SMTP loop's own thread (`writers=0`).
    PostgreSQL takes writers side by side and every statement is a round trip: `writers`
    threads store batches at once, so one batch's waits on the network are another's CPU time.
    """

    MAX_BATCH = 32
    WAIT_FOR_OTHERS = 0.005  # seconds

    def __init__(self, writers: int = 0) -> None:
        self.waiting: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        self.sending: set[Any] = set()  # sessions between MAIL FROM and the end of DATA
        self.scheduled = False
        self.timer: asyncio.TimerHandle | None = None
        self.writers = writers
        self.busy = 0  # batches being stored by writer threads
        self.executor = (
            ThreadPoolExecutor(max_workers=writers, thread_name_prefix="askonce-intake")
            if writers
            else None
        )

    def started(self, session: Any) -> None:
        self.sending.add(session)

    def stopped(self, session: Any) -> None:
        """The session left its mail transaction (RSET, a new MAIL, or it disconnected)."""
        self.sending.discard(session)
        self._schedule()

    async def receive(self, session: Any, **message: Any) -> Any:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Any] = loop.create_future()
        self.sending.discard(session)
        self.waiting.append((message, answer))
        self._schedule()
        return await answer

    def _schedule(self) -> None:
        if not self.waiting or self.scheduled:
            return
        if self.executor is not None and self.busy >= self.writers:
            return  # the next writer to finish schedules again (and finds a bigger batch)
        loop = asyncio.get_running_loop()
        if not self.sending or len(self.waiting) >= self.MAX_BATCH:
            self.scheduled = True
            loop.call_soon(self._drain)
        elif self.timer is None:
            self.timer = loop.call_later(self.WAIT_FOR_OTHERS, self._drain)

    async def run(self, function: Any, **arguments: Any) -> Any:
        """Any other write, where batches are written."""
        if self.executor is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self.executor, _with_fresh_connections, function, arguments
            )
        with _loop_paused():
            return _with_fresh_connections(function, arguments)

    def _drain(self) -> None:
        self.scheduled = False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.executor is not None:
            loop = asyncio.get_running_loop()
            while self.waiting and self.busy < self.writers:
                batch = self.waiting[: self.MAX_BATCH]
                self.waiting = self.waiting[self.MAX_BATCH :]
                self.busy += 1
                stored = loop.run_in_executor(
                    self.executor, self._store, [message for message, _ in batch]
                )
                stored.add_done_callback(functools.partial(self._stored, batch))
            return
        while self.waiting:
            batch, self.waiting = self.waiting[: self.MAX_BATCH], self.waiting[self.MAX_BATCH :]
            with _loop_paused():
                outcomes = self._store([message for message, _ in batch])
            self._answer(batch, outcomes)

    def _stored(self, batch: list[tuple[dict[str, Any], asyncio.Future[Any]]], done: Any) -> None:
        """A writer thread finished a batch (called on the loop)."""
        self.busy -= 1
        error = done.exception()
        self._answer(batch, [error] * len(batch) if error else done.result())
        self._schedule()

    @staticmethod
    def _answer(
        batch: list[tuple[dict[str, Any], asyncio.Future[Any]]], outcomes: list[Any]
    ) -> None:
        for (_, answer), outcome in zip(batch, outcomes, strict=True):
            if answer.done():
                continue
            if isinstance(outcome, BaseException):
                answer.set_exception(outcome)
            else:
                answer.set_result(outcome)

    @staticmethod
    def _store(messages: list[dict[str, Any]]) -> list[Any]:
        close_old_connections()
        outcomes: list[Any] = []
        try:
            # The batch's acknowledgements go to the worker as one task (notify.actions).
            with transaction.atomic(), mail_sent_together():
                for message in messages:
                    try:
                        # In a savepoint of its own (do_receive_mail's): a bad message rolls
                        # back only itself.
                        outcomes.append(do_receive_mail(**message))
                    except Exception as error:  # answered per message by handle_DATA
                        outcomes.append(error)
        except Exception as error:  # the commit failed: nothing of this batch is stored
            logger.exception("committing a batch of %d message(s) failed", len(messages))
            return [error] * len(messages)
        finally:
            close_old_connections()
        return outcomes


def _with_fresh_connections(function: Any, arguments: dict[str, Any]) -> Any:
    """Run Django code as a request would: with fresh-enough connections before and after."""
    close_old_connections()
    try:
        return function(**arguments)
    finally:
        close_old_connections()


class IntakeHandler:
    def __init__(self) -> None:
        # SQLite: on the SMTP loop's thread; PostgreSQL: several writer threads (GroupCommitter).
        writers = 0 if connection.vendor == "sqlite" else settings.SMTP_DB_WRITERS
        self.committer = GroupCommitter(writers=writers)

    async def handle_MAIL(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        # What aiosmtpd does without this hook, plus: this session is now sending a message.
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        self.committer.started(session)
        return "250 OK"

    async def handle_RSET(self, server: SMTP, session: Any, envelope: Any) -> str:
        self.committer.stopped(session)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        try:
            # The support and emergency addresses come from settings: known without a thread
            # hop (one per message, a third of the server's overhead per message when busy).
            # Only team addresses need the database.
            route = fixed_route_for(address) or await asyncio.to_thread(
                _with_fresh_connections, route_for, {"address": address}
            )
        except DatabaseError:
            logger.exception("recipient check failed")
            return "451 4.3.0 Temporary failure checking the recipient; please retry"
        if route is None:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        sender = envelope.mail_from or ""
        sender = "" if sender == "<>" else _CONTROL.sub("", sender)
        recipients = list(envelope.rcpt_tos)
        try:
            intake = await self.committer.receive(
                session,
                raw=raw,
                envelope_sender=sender,
                recipients=recipients,
                channel="smtp",
            )
        except MailRejected as refusal:
            await self._keep(raw, sender, recipients, f"refused: {refusal.message}")
            return f"{refusal.code} {refusal.message}"
        except DataError as error:  # this message's own data: a retry would fail the same way
            return await self._keep_for_review(raw, sender, recipients, error)
        except (DatabaseError, OSError, MemoryError, TimeoutError):
            logger.exception("intake failed transiently; the sender will retry")
            return "451 4.3.0 Temporary failure storing the message; please retry"
        except Exception as error:  # a bug must not lose the mail nor crash the server
            return await self._keep_for_review(raw, sender, recipients, error)
        return intake.smtp_reply

    async def _keep_for_review(
        self, raw: bytes, sender: str, recipients: list[str], error: Exception
    ) -> str:
        logger.exception("intake failed on a message; keeping it for review")
        if await self._keep(raw, sender, recipients, f"{error.__class__.__name__}: {error}"):
            return "250 2.0.0 Accepted; kept for review by an administrator"
        return "451 4.3.0 Temporary failure storing the message; please retry"

    async def _keep(self, raw: bytes, sender: str, recipients: list[str], error: str) -> bool:
        try:
            await self.committer.run(
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


# <dot-atom@domain> and what follows: the common path, read without the header parser.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(
    rf"\s*<({_ATEXT}(?:\.{_ATEXT})*)@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    rf"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)>(.*)\Z",
    re.DOTALL,
)


class _Session(SMTP):
    """aiosmtpd's SMTP session without its 1,000-octet line limit.

    RFC 5321 caps a line there, but real mail exceeds it (HTML on one line, a subject nobody
    folded, bare LF line ends that make a whole message one line) and Postfix passes such mail
    on. Refusing it bounces a customer's mail and leaves support nothing to look at; the message
    size limit still applies, and commands keep their own limit.
    """

    def __init__(self, handler: Any, **options: Any) -> None:
        self.line_length_limit = max(options.get("data_size_limit") or 0, SMTP.line_length_limit)
        super().__init__(handler, **options)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        # The address of MAIL FROM / RCPT TO. aiosmtpd parses it with the email package's
        # header grammar, which costs more than the rest of the command; the usual
        # `<local@domain.example> PARAMS` is read here, anything else as aiosmtpd does.
        plain = _PLAIN_PATH.match(arg)
        rest = plain.group(3).lstrip(" \t") if plain else ""
        if (
            plain is None
            or rest.startswith("(")  # a comment: the header grammar's business
            or (self.local_part_limit and len(plain.group(1)) > self.local_part_limit)
        ):
            return super()._getaddr(arg)  # type: ignore[no-any-return]
        return f"{plain.group(1)}@{plain.group(2)}", rest

    def connection_lost(self, error: Exception | None) -> None:
        committer = getattr(self.event_handler, "committer", None)
        if committer is not None and self.session is not None:
            committer.stopped(self.session)  # gone mid-message: the batch need not wait for it
        super().connection_lost(error)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Session(self.handler, **self.SMTP_kwargs)


def _authenticator() -> Any:
    accounts = dict(
        pair.split(":", 1) for pair in settings.SMTP_AUTH_USERS.split(",") if ":" in pair
    )

    def check(server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        return AuthResult(success=accounts.get(user) == password)

    return check, bool(accounts)


def make_server(host: str, port: int) -> Controller:
    tls_context = None
    if settings.SMTP_TLS_CERT and settings.SMTP_TLS_KEY:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(settings.SMTP_TLS_CERT, settings.SMTP_TLS_KEY)
    authenticator, auth_required = _authenticator()
    return _Controller(
        IntakeHandler(),
        hostname=host,
        port=port,
        data_size_limit=settings.SMTP_MAX_BYTES,
        enable_SMTPUTF8=True,
        decode_data=False,
        ident="AskOnce ESMTP",
        tls_context=tls_context,
        require_starttls=False,
        authenticator=authenticator,
        auth_required=auth_required,
        auth_require_tls=False,
        server_hostname=settings.MAIL_DOMAIN,
    )
