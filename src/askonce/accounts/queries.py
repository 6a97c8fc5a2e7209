"""Reads about people: who a bearer token belongs to, contacts by address."""

import time

from django.utils import timezone

from askonce.accounts.models import ApiToken, User
from askonce.accounts.tokens import hash_token

# Token look-ups happen on every API request; a short per-process cache spares the query.
# A revoked token stops working within TOKEN_CACHE_SECONDS.
TOKEN_CACHE_SECONDS = 10.0
_token_cache: dict[str, tuple[float, User]] = {}


def user_for_token(token: str) -> User | None:
    key = hash_token(token)
    cached = _token_cache.get(key)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    row = (
        ApiToken.objects.select_related("user", "user__organization")
        .filter(key_hash=key, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if row is None:
        _token_cache.pop(key, None)
        return None
    if row.last_used_at is None or (timezone.now() - row.last_used_at).total_seconds() > 300:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    if len(_token_cache) > 10_000:
        _token_cache.clear()
    _token_cache[key] = (now + TOKEN_CACHE_SECONDS, row.user)
    return row.user


def forget_cached_tokens() -> None:
    _token_cache.clear()
    _person_cache.clear()


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email=email.strip().lower()).first()


# Mail and API intake look the same senders up again and again; people are rarely renamed or
# moved, so a known address is remembered for PERSON_CACHE_SECONDS per process.
PERSON_CACHE_SECONDS = 30.0
_person_cache: dict[str, tuple[float, User]] = {}


def known_person(email: str) -> User | None:
    """The user with this (normalized) address, with its organization loaded; None if unknown."""
    now = time.monotonic()
    cached = _person_cache.get(email)
    if cached is not None and cached[0] > now:
        return cached[1]
    user = User.objects.select_related("organization").filter(email=email).first()
    if user is not None:
        if len(_person_cache) > 50_000:
            _person_cache.clear()
        _person_cache[email] = (now + PERSON_CACHE_SECONDS, user)
    return user
