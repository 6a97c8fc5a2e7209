"""The parser's reuse of parsed headers changes nothing about what it reads."""

from dataclasses import asdict
from email.message import EmailMessage
from unittest import mock

import pytest

from askonce.mail import parsing
from askonce.mail.tests.test_hostile_mail import CORPUS


def _stock(raw: bytes) -> dict:
    """parse_mail with policy.default's own header factory (no reuse)."""
    with mock.patch.object(parsing, "POLICY", parsing.policy.default):
        return asdict(parsing.parse_mail(raw))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_mail_reads_the_same_as_with_the_stock_policy(name: str) -> None:
    raw = CORPUS[name].raw
    assert asdict(parsing.parse_mail(raw)) == _stock(raw)
    assert asdict(parsing.parse_mail(raw)) == _stock(raw)  # again, from the kept headers


def test_the_same_header_in_different_mail_gives_each_its_own_text() -> None:
    """Two mails share a Content-Type value, a third differs only in its charset."""
    bodies = {}
    for index, (charset, text) in enumerate(
        [("iso-8859-1", "Café au lait"), ("iso-8859-1", "Crème brûlée"), ("utf-8", "Größe")]
    ):
        message = EmailMessage()
        message["From"] = f"Zoë {index} <zoe{index}@example.net>"
        message["To"] = "support@example.com"
        message["Subject"] = f"Order {index}"
        message.set_content(text, charset=charset, cte="quoted-printable")
        parsed = parsing.parse_mail(message.as_bytes())
        bodies[index] = (parsed.body, parsed.from_name, parsed.subject)
    assert bodies == {
        0: ("Café au lait", "Zoë 0", "Order 0"),
        1: ("Crème brûlée", "Zoë 1", "Order 1"),
        2: ("Größe", "Zoë 2", "Order 2"),
    }


def test_the_kept_headers_stay_bounded() -> None:
    registry = parsing.POLICY.header_factory
    for index in range(registry.MAX_KEPT + 10):
        registry("X-Test", f"value {index}")
    assert len(registry._kept) <= registry.MAX_KEPT
    long_value = "x" * (registry.MAX_VALUE + 1)
    registry("Subject", long_value)
    assert ("Subject", long_value) not in registry._kept


@pytest.mark.parametrize(
    "argument",
    [
        "<alice@acme.example>",
        "<alice@acme.example> SIZE=1234 BODY=8BITMIME",
        " <alice@acme.example>",
        "<Alice.Archer+tag@Mail.Acme.Example>",
        "<a@b>",
        "<>",
        "<alice@[127.0.0.1]>",
        '<"quoted name"@acme.example>',
        "<alice..archer@acme.example>",
        "<.alice@acme.example>",
        "<alice@-acme.example>",
        "<alice@acme..example>",
        "<alice@acme.example",
        "alice@acme.example",
        "<@relay.example:alice@acme.example>",
        "<ålice@acme.example>",
        "<alice@acme.example>\tSMTPUTF8",
        "<" + "a" * 70 + "@acme.example>",
        "<alice@acme.example> <bob@acme.example>",
        "<alice@acme.example> (a comment) SIZE=1",
        "<alice@acme.example>  \t SIZE=1",
    ],
)
def test_the_smtp_address_fast_path_reads_as_aiosmtpd_does(argument: str) -> None:
    from aiosmtpd.smtp import SMTP

    from askonce.mail.smtp_front import _Session

    session = _Session(handler=object())
    assert session._getaddr(argument) == SMTP._getaddr(session, argument)
