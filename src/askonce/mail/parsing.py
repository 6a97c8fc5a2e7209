"""Turn raw RFC 5322 bytes into what intake needs, never trusting the sender.

The standard library's `email` package (policy.default) does the MIME work; this module only
decides what to keep: a readable text body (HTML reduced to text), attachments, the threading
headers, and the signs of auto-replies, bounces and failed sender authentication.
"""

import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from typing import Any

import nh3

# Headers we add on outbound mail; never believed when they arrive from outside.
INTERNAL_HEADER_PREFIX = "x-askonce-"
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
# Control characters, NUL above all: PostgreSQL refuses NUL in text, which would fail intake.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
_TOO_DEEP = "(The parts of this mail are nested too deeply to read; the original is kept.)"
_QUOTE_HEADER = re.compile(
    r"^(On .{3,200}wrote:|Le .{3,200}a écrit ?:|Am .{3,200}schrieb .{0,80}:|"
    r"-{2,}\s*Original Message\s*-{2,}|_{10,}|From: .+)\s*$",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|out of (the )?office|abwesenheit|absence|"
    r"réponse automatique|vacation)",
    re.IGNORECASE,
)


class _ReusingHeaderRegistry(HeaderRegistry):
    """policy.default's header factory, minus the work it repeats.

    The stock registry builds a new class for every header it parses and parses a header again
    on every access: reading one part's type (get_body, walk, get_content_type) parses its
    Content-Type a dozen times per message. Header objects are immutable, so the same name and
    value give the same header: classes are kept per name, and the headers that repeat across
    mail (the MIME headers, our own addresses in To) per (name, value) in a bounded table.
    Headers unique to one mail (Subject, Message-ID, From, Date) are not kept: a parsed header
    holds its whole parse tree (~10 KB), and keeping them filled the table with ~20 MB that
    were never read again.
    """

    MAX_KEPT = 256
    MAX_VALUE = 200
    KEPT_NAMES = frozenset(
        {"content-type", "content-transfer-encoding", "content-disposition", "mime-version", "to"}
    )

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}
        self._kept: dict[tuple[str, str], Any] = {}

    def __getitem__(self, name: str) -> Any:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: str) -> Any:
        if len(value) > self.MAX_VALUE or name.lower() not in self.KEPT_NAMES:
            return self[name](name, value)
        key = (name, value)
        header = self._kept.get(key)
        if header is None:
            if len(self._kept) >= self.MAX_KEPT:
                self._kept.clear()
            header = self._kept[key] = self[name](name, value)
        return header


POLICY = policy.default.clone(header_factory=_ReusingHeaderRegistry())


@dataclass
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass
class Bounce:
    original_message_id: str
    recipient: str
    status: str
    diagnostic: str


@dataclass
class ParsedMail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_address: str
    from_name: str
    to: list[str]
    cc: list[str]
    body: str  # what people read: quoted history and signature trimmed
    full_body: str  # the whole text part
    attachments: list[Attachment] = field(default_factory=list)
    auto_reply: str = ""  # why it is an automatic message, or ""
    bounce: Bounce | None = None
    authentication_failed: str = ""  # "dkim=fail" etc., or ""
    problems: list[str] = field(default_factory=list)


def _header(message: Any, name: str) -> str:
    """A header as one clean line; undecodable or malformed headers become ''."""
    try:
        value = message.get(name)
    except Exception:  # malformed encoded words and the like
        return ""
    if value is None:
        return ""
    return CONTROL_CHARACTERS.sub("", " ".join(str(value).split()))


def _raw_all(message: Any, name: str) -> list[str]:
    """A header's undecoded values. For headers of plain tokens and ids this is all we need, and
    it skips the header registry, which parses a header anew on every access."""
    cache = getattr(message, "_askonce_raw", None)
    if cache is None:
        cache = {}
        for key, value in message.raw_items():
            cache.setdefault(key.lower(), []).append(str(value))
        message._askonce_raw = cache
    return list(cache.get(name.lower(), []))


def _raw(message: Any, name: str) -> str:
    values = _raw_all(message, name)
    return CONTROL_CHARACTERS.sub("", " ".join(values[0].split())) if values else ""


def _message_ids(value: str) -> list[str]:
    return [match.lower() for match in _MESSAGE_ID.findall(value)][:50]


def _decode_part(part: Message, problems: list[str]) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, bytes):
            return content.decode("utf-8", "replace")
        return str(content)
    except (LookupError, UnicodeError, ValueError, AssertionError, KeyError) as error:
        problems.append(f"text part could not be decoded as declared ({error.__class__.__name__})")
        payload = part.get_payload(decode=True) or b""
        if isinstance(payload, str):
            return payload
        return payload.decode("utf-8", "replace")  # type: ignore[union-attr]


def html_to_text(markup: str) -> str:
    """Readable text from HTML: scripts and styles dropped, tags removed, blocks kept apart."""
    markup = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>|</h[1-6]>", "\n", markup)
    # What a mail client shows nothing of. Raw-text elements (noscript above all: mail runs no
    # scripts, so its content is markup there) would otherwise come out as tags in the text.
    hidden = {"script", "style", "head", "title", "noscript", "iframe", "noembed", "noframes"}
    text = nh3.clean(markup, tags=set(), clean_content_tags=hidden)
    text = html.unescape(text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def trim_quoted(text: str) -> str:
    """The new part of a reply: drop the quoted history and a `-- ` signature."""
    kept: list[str] = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if stripped == "--" or stripped == "-- ":
            break
        if _QUOTE_HEADER.match(stripped.strip()) and kept:
            break
        kept.append(line)
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    trimmed = "\n".join(kept).strip()
    return trimmed or text.strip()


def _auto_reply_reason(message: Message, subject: str, sender: str) -> str:
    auto_submitted = _raw(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if _raw(message, name) and name != "X-Auto-Response-Suppress":
            return f"{name} header"
    if _raw(message, "X-Auto-Response-Suppress").lower() in {"all", "oof"}:
        return "X-Auto-Response-Suppress"
    precedence = _raw(message, "Precedence").lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    if _raw(message, "List-Id") or _raw(message, "List-Unsubscribe"):
        return "mailing list"
    if _AUTO_SUBJECT.match(subject):
        return "out-of-office subject"
    local = sender.partition("@")[0].lower()
    if local in {"noreply", "no-reply", "do-not-reply", "donotreply"}:
        return f"sent from {local}@"
    return ""


def _bounce(message: Message, sender: str) -> Bounce | None:
    content_type = message.get_content_type()
    report_type = (message.get_param("report-type") or "").lower()  # type: ignore[union-attr]
    looks_like_dsn = content_type == "multipart/report" and report_type == "delivery-status"
    from_daemon = sender.partition("@")[0].lower() in {"mailer-daemon", "postmaster"}
    if not looks_like_dsn and not from_daemon:
        return None
    recipient = status = diagnostic = original = ""
    for part in message.walk():
        part_type = part.get_content_type()
        if part_type == "message/delivery-status":
            for block in part.get_payload() if part.is_multipart() else []:
                recipient = (
                    recipient or _header(block, "Final-Recipient").rpartition(";")[2].strip()
                )
                status = status or _header(block, "Status")
                diagnostic = diagnostic or _header(block, "Diagnostic-Code")
        elif part_type in ("message/rfc822", "text/rfc822-headers"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original = original or _header(inner[0], "Message-ID")
            elif isinstance(inner, str):
                match = re.search(r"(?im)^Message-ID:\s*(<[^>]+>)", inner)
                original = original or (match.group(1) if match else "")
    if not original:
        ids = _message_ids(_raw(message, "In-Reply-To") + " " + _raw(message, "References"))
        original = f"<{ids[0]}>" if ids else ""
    ids = _message_ids(original)
    return Bounce(
        original_message_id=ids[0] if ids else "",
        recipient=recipient.lower(),
        status=status,
        diagnostic=diagnostic[:500],
    )


def _authentication_failure(message: Message) -> str:
    """`dkim=fail` (or spf/dmarc) from our receiving server's Authentication-Results."""
    for value in _raw_all(message, "Authentication-Results"):
        for method in ("dmarc", "dkim", "spf"):
            match = re.search(rf"\b{method}\s*=\s*(fail|softfail|permerror)\b", str(value), re.I)
            if match:
                return f"{method}={match.group(1).lower()}"
    return ""


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse any bytes; broken parts are noted in `problems`, never raised."""
    problems: list[str] = []
    try:
        message = message_from_bytes(raw, policy=POLICY)
    except RecursionError:
        # Parts nested deeper than the parser can follow: read the headers, say why there is no
        # text; the raw message stays on the InboundMail row.
        message = BytesHeaderParser(policy=POLICY).parsebytes(raw)
        del message["Content-Type"]
        del message["Content-Transfer-Encoding"]
        message.set_payload(_TOO_DEEP)
        problems.append("MIME parts nested too deeply to read")
    for defect in getattr(message, "defects", [])[:5]:
        problems.append(defect.__class__.__name__)
    for name in list(message.keys()):
        if name.lower().startswith(INTERNAL_HEADER_PREFIX):
            del message[name]

    subject = _header(message, "Subject")[:255]
    from_name, from_address = parseaddr(_header(message, "From"))
    if not from_address:
        from_name, from_address = parseaddr(
            _header(message, "Sender") or _header(message, "Return-Path")
        )
    from_address = from_address.strip().lower()
    if (
        any(ch in from_address for ch in ' \r\n<>,;"')
        or from_address.count("@") != 1
        or len(from_address) > 254  # RFC 5321's limit, and the contact's email column
    ):
        problems.append(f"unusable sender address {from_address!r}")
        from_address = ""

    body = ""
    if isinstance(message, EmailMessage):
        try:
            text_part = message.get_body(preferencelist=("plain", "html"))
        except Exception:
            text_part = None
            problems.append("MIME structure could not be read")
        if text_part is not None:
            body = _decode_part(text_part, problems)
            if text_part.get_content_type() == "text/html":
                body = html_to_text(body)
        elif not message.is_multipart():
            body = _decode_part(message, problems)
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() not in ("attachment", "inline"):
            continue
        if part.get_content_disposition() == "inline" and part.get_content_maintype() == "text":
            continue
        try:
            content = part.get_payload(decode=True) or b""
        except Exception:
            problems.append("an attachment could not be decoded")
            continue
        filename = part.get_filename() or "attachment"
        filename = re.sub(r"[\x00-\x1f/\\]", "_", str(filename))[-150:]
        content_type = part.get_content_type()
        if not _CONTENT_TYPE.fullmatch(content_type):
            content_type = "application/octet-stream"
        attachments.append(
            Attachment(filename=filename, content_type=content_type, content=content)  # type: ignore[arg-type]
        )

    body = body.replace("\r\n", "\n").replace("\x00", "")
    return ParsedMail(
        message_id=(_message_ids(_raw(message, "Message-ID")) or [""])[0],
        in_reply_to=_message_ids(_raw(message, "In-Reply-To")),
        references=_message_ids(_raw(message, "References")),
        subject=subject,
        from_address=from_address,
        from_name=" ".join(from_name.split())[:200],
        to=[address.lower() for _, address in getaddresses([_raw(message, "To")]) if address],
        cc=[address.lower() for _, address in getaddresses([_raw(message, "Cc")]) if address],
        body=trim_quoted(body) if body.strip() else "",
        full_body=body.strip(),
        attachments=attachments,
        auto_reply=_auto_reply_reason(message, subject, from_address),
        bounce=_bounce(message, from_address),
        authentication_failed=_authentication_failure(message),
        problems=problems,
    )
