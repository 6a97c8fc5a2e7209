"""Text helpers shared by every domain: clean what people type before it is stored."""

import re

from django.conf import settings

from askonce.core.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_line(value: str, *, field: str, max_length: int = 255) -> str:
    """A one-line value: no line breaks or control characters, trimmed, not empty."""
    text = _CONTROL.sub("", value.replace("\r", " ").replace("\n", " ")).strip()
    if not text:
        raise InvalidInput(f"{field} must not be empty.")
    if len(text) > max_length:
        raise InvalidInput(f"{field} is {len(text)} characters long; the limit is {max_length}.")
    return text


def clean_body(value: str, *, field: str = "body") -> str:
    """A multi-line text body: control characters removed, trimmed, within the size limit."""
    text = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise InvalidInput(f"{field} must not be empty.")
    limit = settings.MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise InvalidInput(f"{field} is {len(text)} characters long; the limit is {limit}.")
    return text
