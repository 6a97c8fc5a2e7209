"""Reads about people: who a bearer token belongs to, contacts by address."""

from django.utils import timezone

from askonce.accounts.models import ApiToken, User
from askonce.accounts.tokens import hash_token
from askonce.core.cache import TimedCache, clear_all_caches

# Token look-ups happen on every API request; a short per-process cache spares the query.
# A revoked token stops working within TOKEN_CACHE_SECONDS.
TOKEN_CACHE_SECONDS = 10.0
_token_cache: TimedCache[User] = TimedCache(TOKEN_CACHE_SECONDS)


def user_for_token(token: str) -> User | None:
    return _token_cache.get(hash_token(token), lambda: _load_token_user(hash_token(token)))


def _load_token_user(key: str) -> User | None:
    row = (
        ApiToken.objects.select_related("user", "user__organization")
        .filter(key_hash=key, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if row is None:
        return None
    if row.last_used_at is None or (timezone.now() - row.last_used_at).total_seconds() > 300:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row.user


def forget_cached_tokens() -> None:
    clear_all_caches()


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email=email.strip().lower()).first()


# Mail and API intake look the same senders up again and again; people are rarely renamed or
# moved, so a known address is remembered for PERSON_CACHE_SECONDS per process.
PERSON_CACHE_SECONDS = 30.0
_person_cache: TimedCache[User] = TimedCache(PERSON_CACHE_SECONDS, max_entries=50_000)


def known_person(email: str) -> User | None:
    """The user with this (normalized) address, with its organization loaded; None if unknown."""
    return _person_cache.get(
        email, lambda: User.objects.select_related("organization").filter(email=email).first()
    )
