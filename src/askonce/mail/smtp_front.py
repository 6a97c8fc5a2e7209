"""The SMTP front: the protocol and the MIME parsing, in a process beside the one that stores.

`askonce smtpd` (mail/smtp.py) runs this module as its child. The child listens on the SMTP
port with aiosmtpd, takes each session through EHLO, MAIL, RCPT and DATA, parses the message
with `parsing.parse_mail`, and asks its parent — the storing process, which has Django and the
database — for the answer: whether a team address exists (RCPT) and what became of a message
(DATA: 250 once committed, or 4xx/5xx). It imports nothing of Django (~25 MB).

Why two processes: one Python process runs on one core (the GIL), and for a 1 KB message the
protocol and parsing cost about as much CPU as storing it. Apart, the two run side by side on
two cores, and the storing process is never stalled by a session: while it commits one batch,
the next arrives parsed, and becomes the next batch (bench/README.md, "Mail intake").

Wire format (mail/pipe.py), both ways over the child's stdin and stdout: `<id:u64><size:u32>`
and a pickled body. Requests are ("rcpt", address) or ("mail", raw, envelope sender, recipients, parsed);
each answer is the SMTP reply text. Answer id 0 is the front's first word: None once it
listens, or why it cannot. The pipes are private to the two processes, so the pickles come
from our own code. When the parent goes away (even SIGKILL: PR_SET_PDEATHSIG, and end of file
on stdin), the front stops at once, taking its unanswered sessions with it: their clients
never got a 250, so they send again.
"""

import asyncio
import ctypes
import json
import logging
import os
import re
import signal
import ssl
import sys
from typing import Any

from aiosmtpd.controller import UnthreadedController
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from askonce.mail.parsing import CONTROL_CHARACTERS, parse_mail
from askonce.mail.pipe import READY, frame, take_frames

logger = logging.getLogger("askonce.smtpd")


class StoreLink(asyncio.Protocol):
    """The front's side of the pipes: send a request, await its answer."""

    def __init__(self) -> None:
        self.writer: asyncio.WriteTransport | None = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.next_id = READY
        self.buffer = bytearray()
        self.closed: asyncio.Future[None] | None = None

    async def connect(self, loop: asyncio.AbstractEventLoop, source: Any, sink: Any) -> None:
        self.closed = loop.create_future()
        await loop.connect_read_pipe(lambda: self, source)
        # Never blocks the loop: what the parent has not read yet waits in the transport.
        self.writer, _ = await loop.connect_write_pipe(asyncio.BaseProtocol, sink)  # type: ignore[assignment]

    def send(self, ident: int, body: Any) -> None:
        assert self.writer is not None
        self.writer.write(frame(ident, body))

    async def ask(self, *request: Any) -> Any:
        self.next_id += 1
        ident = self.next_id
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[ident] = answer
        try:
            self.send(ident, request)
            return await answer
        finally:
            self.pending.pop(ident, None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        for ident, body in take_frames(self.buffer):
            answer = self.pending.get(ident)
            if answer is not None and not answer.done():
                answer.set_result(body)

    def connection_lost(self, error: Exception | None) -> None:
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)  # the parent is gone: stop


class FrontHandler:
    def __init__(self, link: StoreLink, fixed_addresses: list[str]) -> None:
        self.link = link
        self.fixed = {address.lower() for address in fixed_addresses}

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        # The support and emergency addresses are known here; team addresses are in the database.
        if address.strip().lower() not in self.fixed:
            reply: str = await self.link.ask("rcpt", address)
            if not reply.startswith("250"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        sender = envelope.mail_from or ""
        # A NUL in MAIL FROM would make PostgreSQL refuse the row, and the sender retry for days.
        sender = "" if sender == "<>" else CONTROL_CHARACTERS.sub("", sender)
        try:
            parsed = parse_mail(raw)
        except Exception:  # MemoryError, RecursionError: the storing process parses and decides
            logger.exception("parsing a message failed in the SMTP front")
            parsed = None
        reply: str = await self.link.ask("mail", raw, sender, list(envelope.rcpt_tos), parsed)
        return reply


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


class _Controller(UnthreadedController):
    def factory(self) -> SMTP:
        return _Session(self.handler, **self.SMTP_kwargs)


def _authenticator(users: str) -> Any:
    accounts = dict(pair.split(":", 1) for pair in users.split(",") if ":" in pair)

    def check(server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        return AuthResult(success=accounts.get(user) == password)

    return check, bool(accounts)


def controller(config: dict[str, Any], link: StoreLink, loop: Any) -> _Controller:
    """The aiosmtpd server the settings describe (see smtp.front_config)."""
    tls_context = None
    if config["tls_cert"] and config["tls_key"]:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(config["tls_cert"], config["tls_key"])
    authenticator, auth_required = _authenticator(config["auth_users"])
    return _Controller(
        FrontHandler(link, config["fixed_addresses"]),
        hostname=config["host"],
        port=config["port"],
        loop=loop,
        data_size_limit=config["max_bytes"],
        enable_SMTPUTF8=True,
        decode_data=False,
        ident="AskOnce ESMTP",
        tls_context=tls_context,
        require_starttls=False,
        authenticator=authenticator,
        auth_required=auth_required,
        auth_require_tls=False,
        server_hostname=config["server_hostname"],
    )


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent dies, even by SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: end of file on stdin still stops us
        pass


def main() -> None:
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl
        return
    # The storing process stops the front; Ctrl-C in a terminal reaches both and is its business.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config = json.loads(sys.argv[1])
    logging.basicConfig(
        level=config.get("log_level", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per connection
    # Answers go to a copy of stdout; anything printed by accident goes to stderr instead.
    sink = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    loop = asyncio.new_event_loop()
    link = StoreLink()
    loop.run_until_complete(link.connect(loop, sys.stdin.buffer, sink))
    server = controller(config, link, loop)
    try:
        server.begin()
    except (OSError, ssl.SSLError) as error:
        link.send(READY, f"{error.__class__.__name__}: {error}")
        loop.run_until_complete(asyncio.sleep(0.1))  # let the answer leave
        sys.exit(1)
    link.send(READY, None)
    assert link.closed is not None
    loop.run_until_complete(link.closed)
    # The parent is gone or stopping us: sessions still waiting never got their 250.
    os._exit(0)


if __name__ == "__main__":
    main()
