"""Poll IMAP mailboxes and hand each new message to mail intake, the same door as SMTP.

A message is flagged `\\Seen` (or moved to the `move=` folder) only after `do_receive_mail` has
committed it. A crash in between leaves it unflagged; the next poll fetches it again and intake's
idempotence answers "Already received", so nothing is lost and nothing is doubled.
"""

import base64
import imaplib
import logging
import re
import ssl
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from django.db import DatabaseError, DataError, InterfaceError, OperationalError

from askonce.core.periodic import register_periodic
from askonce.mail.actions import MailRejected, do_receive_mail, do_store_unprocessable_mail
from askonce.mail.routing import route_for

logger = logging.getLogger("askonce.imap")

# One poll takes at most this many messages from a mailbox; the rest wait for the next poll, so
# a flooded mailbox cannot keep the worker from its other jobs.
MAX_MESSAGES_PER_POLL = 500
SOCKET_TIMEOUT_SECONDS = 60
DEFAULT_PORTS = {"imap": 143, "imaps": 993}
_KNOWN_OPTIONS = {"to", "move"}
# Outcomes that leave a message unflagged, besides intake's own (ticket_created, ...).
DEFERRED = "deferred"  # a transient fault; the next poll tries again
VANISHED = "vanished"  # another client expunged it between the search and the fetch
DATABASE_UNAVAILABLE = "database_unavailable"  # counted as deferred; the poll stops
_FETCHED_SIZE = re.compile(rb"UID (\d+) RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+) UID (\d+)")


class MailboxError(Exception):
    """A mailbox that cannot be polled: a malformed URL, no connection, a refused login."""

    def __init__(self, mailbox: str, problem: str) -> None:
        super().__init__(f"Mailbox {mailbox}: {problem}")
        self.mailbox = mailbox  # never with its password
        self.problem = problem


class _Refused(Exception):
    """The server answered NO to a command in the middle of a poll."""


@dataclass(frozen=True)
class Mailbox:
    scheme: str  # imap | imaps
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str
    recipient: str  # which of our addresses this mailbox receives mail for
    move_to: str  # "" flags processed mail \Seen instead of moving it

    @property
    def name(self) -> str:
        """How logs and errors name the mailbox: its URL without the password."""
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


@dataclass
class PollSummary:
    mailbox: str
    counts: Counter[str] = field(default_factory=Counter)
    error: str = ""
    more_waiting: bool = False  # the per-poll limit left messages for the next poll

    def __str__(self) -> str:
        done = ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.counts.items()))
        text = f"{self.mailbox}: {done or 'nothing new'}"
        if self.more_waiting:
            text += " (more waiting for the next poll)"
        if self.error:
            text = f"{self.mailbox}: FAILED: {self.error}" + (f" (after {done})" if done else "")
        return text


def without_password(url: str) -> str:
    """A mailbox URL fit for logs, even one too malformed to parse."""
    scheme, separator, rest = url.strip().partition("://")
    head, question, query = rest.partition("?")  # the query may hold an address: to=a@b
    if "@" in head:
        at = head.rindex("@")  # a password may hold an unencoded @ or /
        user, colon, _ = head[:at].partition(":")
        head = f"{user}{colon and ':***'}{head[at:]}"
    else:
        authority, slash, path = head.partition("/")
        host, colon, port = authority.partition(":")
        if colon and not port.isdigit():  # `user:password` without a host
            head = f"{host}:***{slash}{path}"
    return f"{scheme}{separator}{head}{question}{query}"


def parse_mailbox_url(url: str) -> Mailbox:
    """`imap(s)://user:password@host:port/FOLDER?to=address&move=FOLDER`, percent-decoded."""
    shown = without_password(url)
    # urllib's own messages may quote the netloc, password and all; ours name only the part.
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise MailboxError(shown, "not a valid URL") from None
    try:
        port = parts.port
    except ValueError:
        raise MailboxError(
            shown,
            "the port is not a number from 1 to 65535 (percent-encode a / or @ in the password)",
        ) from None
    try:
        options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as error:
        raise MailboxError(shown, f"the query is malformed ({error})") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise MailboxError(shown, "the URL must start with imap:// or imaps://")
    if not parts.hostname:
        raise MailboxError(shown, "the URL names no host")
    if not parts.username or parts.password is None:
        raise MailboxError(shown, "the URL needs a user and a password (imaps://user:pw@host)")
    unknown = sorted(set(options) - _KNOWN_OPTIONS)
    if unknown:
        raise MailboxError(shown, f"unknown options {', '.join(unknown)} (known: to, move)")
    if any(len(values) > 1 for values in options.values()):
        raise MailboxError(shown, "an option is given twice")
    recipient = options.get("to", [settings.SUPPORT_ADDRESS])[0].strip().lower()
    if "@" not in recipient:
        raise MailboxError(shown, f"to={recipient!r} is not an address")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    move_to = options.get("move", [""])[0].strip()
    if move_to == folder:
        raise MailboxError(shown, "move= names the folder that is polled")
    return Mailbox(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        user=unquote(parts.username),
        password=unquote(parts.password),
        folder=folder,
        recipient=recipient,
        move_to=move_to,
    )


def configured_mailboxes() -> list[Mailbox]:
    """Every mailbox in settings.IMAP_MAILBOXES; raises MailboxError naming a malformed one."""
    return [parse_mailbox_url(url) for url in settings.IMAP_MAILBOXES]


def poll_all_mailboxes(*, limit: int = MAX_MESSAGES_PER_POLL) -> list[PollSummary]:
    """Poll each configured mailbox once; one failing mailbox does not stop the others."""
    summaries = []
    for url in settings.IMAP_MAILBOXES:
        try:
            mailbox = parse_mailbox_url(url)
        except MailboxError as error:
            logger.error("%s", error)
            summaries.append(PollSummary(error.mailbox, error=error.problem))
            continue
        summaries.append(poll_mailbox(mailbox, limit=limit))
    return summaries


def poll_mailbox(mailbox: Mailbox, *, limit: int = MAX_MESSAGES_PER_POLL) -> PollSummary:
    """Take up to `limit` new messages from one mailbox into intake; never raises."""
    summary = PollSummary(mailbox.name)
    try:
        if route_for(mailbox.recipient) is None:
            # Every message would be refused and flagged away unread: refuse to poll instead.
            raise MailboxError(mailbox.name, f"to={mailbox.recipient} is not one of our addresses")
        client = _open(mailbox)
        try:
            _poll(client, mailbox, summary, limit)
        finally:
            _close(client)
    except MailboxError as error:
        summary.error = error.problem
    except _Refused as refusal:
        summary.error = str(refusal)
    except (imaplib.IMAP4.error, OSError) as error:
        summary.error = f"the IMAP session failed ({error})"
    except (OperationalError, InterfaceError) as error:
        summary.error = f"database error ({error})"
    except Exception as error:  # a bug in one mailbox's poll must not stop the other mailboxes
        logger.exception("polling %s failed", mailbox.name)
        summary.error = f"{error.__class__.__name__}: {error}"
    if summary.error:
        logger.error("%s", summary)
    elif summary.counts[DEFERRED]:
        logger.warning("%s", summary)
    elif summary.counts:
        logger.info("%s", summary)
    return summary


def register() -> None:
    """Let the worker poll the mailboxes on a timer, when there are any to poll."""
    if settings.IMAP_MAILBOXES:
        register_periodic(
            "mail.imap_poll", poll_all_mailboxes, every_seconds=settings.IMAP_POLL_SECONDS
        )


def _open(mailbox: Mailbox) -> imaplib.IMAP4:
    try:
        client: imaplib.IMAP4
        if mailbox.scheme == "imaps":
            client = imaplib.IMAP4_SSL(
                mailbox.host,
                mailbox.port,
                ssl_context=ssl.create_default_context(),
                timeout=SOCKET_TIMEOUT_SECONDS,
            )
        else:
            client = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=SOCKET_TIMEOUT_SECONDS)
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(mailbox.name, f"cannot connect ({error})") from None
    try:
        client.login(mailbox.user, mailbox.password)
    except (OSError, imaplib.IMAP4.error) as error:
        _close(client)
        raise MailboxError(
            mailbox.name, f"login as {mailbox.user} refused ({_server_text(error)})"
        ) from None
    return client


def _close(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error):
        pass  # the session is over either way


def _poll(client: imaplib.IMAP4, mailbox: Mailbox, summary: PollSummary, limit: int) -> None:
    typ, data = client.select(_quoted(mailbox.folder))
    if typ != "OK":
        raise MailboxError(mailbox.name, f"cannot open folder {mailbox.folder} ({_text(data)})")
    capabilities = _capabilities(client)
    if mailbox.move_to:
        _ensure_folder(client, mailbox)
    # A moved message leaves the folder, so in move mode everything left there is new; read and
    # unread alike. Messages marked \Deleted (the COPY fallback) are on their way out.
    criteria = "UNDELETED" if mailbox.move_to else "UNSEEN UNDELETED"
    found = _ok(client.uid("SEARCH", criteria), "search")
    uids = sorted(int(uid) for uid in (found[0] or b"").split())
    if not uids:
        return
    summary.more_waiting = len(uids) > limit
    uids = uids[:limit]
    logger.info("%s: %d new message(s) to take in", mailbox.name, len(uids))
    sizes = _sizes(client, uids)
    to_expunge: list[int] = []
    for position, uid in enumerate(uids):
        outcome = _take_in(client, mailbox, uid, sizes.get(uid, 0))
        if outcome == DATABASE_UNAVAILABLE:
            # Every other message would fail the same way; they all wait for the next poll.
            summary.counts[DEFERRED] += len(uids) - position
            break
        summary.counts[outcome] += 1
        if outcome not in (DEFERRED, VANISHED):
            _mark_processed(client, mailbox, uid, capabilities, to_expunge)
    if to_expunge:
        if "UIDPLUS" in capabilities:
            _ok(client.uid("EXPUNGE", _uid_set(to_expunge)), "expunge")
        else:
            _ok(client.expunge(), "expunge")


def _take_in(client: imaplib.IMAP4, mailbox: Mailbox, uid: int, size: int) -> str:
    """Store one message through intake; the outcome says whether it may now be flagged."""
    limit = settings.SMTP_MAX_BYTES  # the same limit as mail over SMTP
    too_large = size > limit
    raw = _fetch(client, uid, "BODY.PEEK[HEADER]" if too_large else "BODY.PEEK[]")
    if raw is None:
        return VANISHED  # expunged by another client since the search
    sender = envelope_sender_of(raw)
    try:
        if too_large:
            error = f"refused: {size} bytes is over the {limit}-byte limit; only headers kept"
            _keep(raw, sender, mailbox, error)
            return "too_large"
        return _receive(raw, sender, mailbox, uid)
    except (OperationalError, InterfaceError):
        logger.exception(
            "%s: database error on UID %d; it and the rest wait for the next poll",
            mailbox.name,
            uid,
        )
        return DATABASE_UNAVAILABLE
    except (DatabaseError, OSError, MemoryError, TimeoutError):
        logger.exception("%s: storing UID %d failed; it is retried next poll", mailbox.name, uid)
        return DEFERRED


def _receive(raw: bytes, sender: str, mailbox: Mailbox, uid: int) -> str:
    try:
        intake = do_receive_mail(
            raw=raw, envelope_sender=sender, recipients=[mailbox.recipient], channel="imap"
        )
    except MailRejected as refusal:
        _keep(raw, sender, mailbox, f"refused: {refusal.code} {refusal.message}")
        return "rejected"
    except DataError as error:
        # This message's content fails the same way on every poll (the database refuses one of
        # its values); left unflagged it would be refetched forever. Keep it for review.
        logger.exception(
            "%s: the database refused UID %d; keeping it for review", mailbox.name, uid
        )
        _keep(raw, sender, mailbox, f"{error.__class__.__name__}: {error}")
        return "kept_for_review"
    except (DatabaseError, OSError, MemoryError, TimeoutError):
        raise  # transient: the message stays unflagged for the next poll
    except Exception as error:  # a bug must not lose the mail nor block the mailbox
        logger.exception("%s: intake failed on UID %d; keeping it for review", mailbox.name, uid)
        _keep(raw, sender, mailbox, f"{error.__class__.__name__}: {error}")
        return "kept_for_review"
    if intake.text.endswith("Already received"):  # intake's answer for a message it has
        return "already_received"
    return str(intake.outcome)


def _keep(raw: bytes, sender: str, mailbox: Mailbox, error: str) -> None:
    do_store_unprocessable_mail(
        raw=raw,
        envelope_sender=sender,
        recipients=[mailbox.recipient],
        channel="imap",
        error=error,
    )


def _mark_processed(
    client: imaplib.IMAP4,
    mailbox: Mailbox,
    uid: int,
    capabilities: set[str],
    to_expunge: list[int],
) -> None:
    _ok(client.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "flag as seen")
    if not mailbox.move_to:
        return
    folder = _quoted(mailbox.move_to)
    if "MOVE" in capabilities:
        _ok(client.uid("MOVE", str(uid), folder), f"move to {mailbox.move_to}")
        return
    # Without MOVE (RFC 6851): copy, then mark the original deleted; expunged after the batch.
    _ok(client.uid("COPY", str(uid), folder), f"copy to {mailbox.move_to}")
    _ok(client.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)"), "flag as deleted")
    to_expunge.append(uid)


def envelope_sender_of(raw: bytes) -> str:
    """The Return-Path the delivering server recorded; "" for a null sender or none at all."""
    try:
        return_path = BytesHeaderParser().parsebytes(raw).get("Return-Path", "")
    except Exception:  # a mangled header section still gets delivered, without a sender
        return ""
    address = parseaddr(str(return_path))[1]
    return "" if address in ("", "<>") else address


def _fetch(client: imaplib.IMAP4, uid: int, item: str) -> bytes | None:
    data = _ok(client.uid("FETCH", str(uid), f"({item})"), "fetch")
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    return None


def _sizes(client: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    sizes = {}
    for part in _ok(client.uid("FETCH", _uid_set(uids), "(RFC822.SIZE)"), "fetch sizes"):
        line = part[0] if isinstance(part, tuple) else part
        match = _FETCHED_SIZE.search(line) if isinstance(line, bytes) else None
        if match:
            uid, size = (match.group(1), match.group(2)) if match.group(1) else match.group(4, 3)
            sizes[int(uid)] = int(size)
    return sizes


def _ensure_folder(client: imaplib.IMAP4, mailbox: Mailbox) -> None:
    typ, data = client.list('""', _quoted(mailbox.move_to))
    if typ == "OK" and any(data):
        return
    typ, data = client.create(_quoted(mailbox.move_to))
    if typ != "OK":
        raise MailboxError(mailbox.name, f"cannot create folder {mailbox.move_to} ({_text(data)})")
    logger.info("%s: created folder %s for processed mail", mailbox.name, mailbox.move_to)


def _capabilities(client: imaplib.IMAP4) -> set[str]:
    # Asked again after login: servers announce MOVE, UIDPLUS and the like only then.
    typ, data = client.capability()
    if typ != "OK" or not data:
        return set(client.capabilities)
    return set(_text(data).upper().split())


def _ok(response: tuple[str, list], action: str) -> list:
    typ, data = response
    if typ != "OK":
        raise _Refused(f"the server refused to {action} ({_text(data)})")
    return data


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _quoted(folder: str) -> str:
    """A folder name as an IMAP quoted string, non-ASCII in modified UTF-7 (RFC 3501 5.1.3)."""
    encoded: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            encoded.append("&" + base64.b64encode(utf16).decode().rstrip("=").replace("/", ","))
            encoded.append("-")
            pending.clear()

    for character in folder:
        if " " <= character <= "~":
            flush()
            encoded.append("&-" if character == "&" else character)
        else:
            pending.append(character)
    flush()
    escaped = "".join(encoded).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _text(data: list) -> str:
    return " ".join(
        part.decode("utf-8", "replace") if isinstance(part, bytes) else str(part)
        for part in data
        if part is not None and not isinstance(part, tuple)
    )


def _server_text(error: BaseException) -> str:
    text = str(error)
    match = re.fullmatch(r"b'(.*)'", text)
    return match.group(1) if match else text
