"""Reads about people: who a bearer token belongs to, contacts by address."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from askonce.accounts.models import ApiToken, Organization, OrganizationDomain, User
from askonce.accounts.tokens import hash_token
from askonce.core.cache import TimedCache, clear_all_caches
from askonce.core.rows import Query, run_together

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
# moved, so a known address is remembered for PERSON_CACHE_SECONDS per process, and so are the
# organizations they belong to and which organization owns an email domain.
PERSON_CACHE_SECONDS = 30.0
_person_cache: TimedCache[User] = TimedCache(PERSON_CACHE_SECONDS, max_entries=50_000)
_organization_cache: TimedCache[Organization] = TimedCache(PERSON_CACHE_SECONDS)
_domain_cache: TimedCache[tuple[Organization | None]] = TimedCache(PERSON_CACHE_SECONDS)


def known_person(email: str) -> User | None:
    """The user with this (normalized) address, with its organization loaded; None if unknown."""
    looked_up = _looked_up.get()
    if looked_up is not None:
        if email in looked_up.created:
            return looked_up.created[email]
        if email in looked_up.absent:
            return None
    return _person_cache.get(email, lambda: _load_person(email))


@dataclass
class _LookedUp:
    absent: set[str]  # looked up and not found
    created: dict[str, User] = field(default_factory=dict)  # created since, not written yet


# What a batch looked up (`people_looked_up`), while its block is open.
_looked_up: ContextVar[_LookedUp | None] = ContextVar("askonce_people_looked_up", default=None)


def people_query(emails: Iterable[str]) -> Query:
    """The query `people_looked_up` needs for these addresses (those not cached), to run with a
    batch's other reads (`rows.run_together`)."""
    normalized = {email.strip().lower() for email in emails if email}
    wanted = sorted(email for email in normalized if not _person_cache.holds(email))
    if not wanted:
        return Query("", [])
    statement = _PEOPLE_BY_EMAIL.format(", ".join(["%s"] * len(wanted)))
    return Query(statement, list(wanted), keys=list(wanted))


@contextmanager
def people_looked_up(emails: Iterable[str], query: Query | None = None) -> Iterator[None]:
    """For an all-or-nothing batch (core/batch.py) that will ask `known_person` about each of
    these addresses: one query for all of them (`query`, from `people_query`, if the caller ran
    it already). Those found are cached as usual; those not found are answered None without a
    query inside the block, and contacts created in it (`remember_person_in_batch`) as
    created. Not for a loop of savepoints: a contact whose savepoint rolled back would still be
    answered."""
    if query is None:
        query = people_query(emails)
        run_together([query])
    found: set[str] = set()
    for user in _people(query):
        remember_person(user)
        found.add(user.email)
    absent = set(query.keys) - found
    _look_up_domains({email.rpartition("@")[2] for email in absent})  # new contacts join them
    token = _looked_up.set(_LookedUp(absent))
    try:
        yield
    finally:
        _looked_up.reset(token)


def remember_person_in_batch(user: User) -> None:
    """A contact created inside `people_looked_up`: the batch's next mail from them finds them
    here, also when an all-or-nothing batch writes the row only as it ends (and the whole
    batch is undone if it fails)."""
    looked_up = _looked_up.get()
    if looked_up is not None:
        looked_up.created[user.email] = user


def remember_person(user: User) -> None:
    """Cache a person just created, so their next ticket or mail needs no look-up."""
    _person_cache.put(user.email, user)


_PERSON_BY_EMAIL = 'SELECT * FROM "accounts_user" WHERE "email" = %s'
_PEOPLE_BY_EMAIL = 'SELECT * FROM "accounts_user" WHERE "email" IN ({})'


def _load_person(email: str) -> User | None:
    # One fixed statement: the ORM would build a select_related query anew on every call (about
    # 1 ms of Python, most of a new requester's cost); the organization comes from its cache.
    query = Query(_PERSON_BY_EMAIL, [email])
    run_together([query])
    people = _people(query)
    return people[0] if people else None


def _people(query: Query) -> list[User]:
    """The users a `SELECT *` on accounts_user read, each with its organization (cached)."""
    people = []
    for row in query.rows:
        user = _user_from_row(query.columns, row)
        if user.organization_id is not None:
            organization = organization_by_id(user.organization_id)
            if organization is not None:
                user.organization = organization
        people.append(user)
    return people


def _user_from_row(columns: list[str], row: tuple[Any, ...]) -> User:
    """The row as the model's own object (`Model.from_db`, where `.raw()` ends, without its
    set-up): values put in the fields' order and converted the way a query's compiler does,
    the backend's converters then the field's (SQLite returns datetimes as text)."""
    key = tuple(columns)
    plan = _row_plans.get(key)
    if plan is None:
        position = {column: index for index, column in enumerate(columns)}
        plan = []
        for field in User._meta.concrete_fields:
            col = field.get_col(User._meta.db_table)
            steps = [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]
            plan.append((position[str(field.column)], [(convert, col) for convert in steps]))
        _row_plans[key] = plan
    values = []
    for index, steps in plan:
        value = row[index]
        for convert, col in steps:
            value = convert(value, col, connection)
        values.append(value)
    names = [field.attname for field in User._meta.concrete_fields]
    return User.from_db("default", names, values)


_row_plans: dict[tuple[str, ...], list[tuple[int, list[tuple[Any, Any]]]]] = {}


def organization_by_id(organization_id: int) -> Organization | None:
    return _organization_cache.get(
        organization_id, lambda: Organization.objects.filter(pk=organization_id).first()
    )


def organization_for_domain(domain: str) -> Organization | None:
    """The organization whose contacts write from this email domain, if one owns it."""
    found = _domain_cache.get(domain, lambda: (_load_domain_owner(domain),))
    return found[0] if found else None


def _load_domain_owner(domain: str) -> Organization | None:
    owner = OrganizationDomain.objects.filter(domain=domain).select_related("organization").first()
    return owner.organization if owner else None


def _look_up_domains(domains: set[str]) -> None:
    """Cache which organization owns each of these domains (or none), in one query."""
    wanted = [domain for domain in domains if domain and not _domain_cache.holds(domain)]
    if not wanted:
        return
    owners = {
        owner.domain: owner.organization
        for owner in OrganizationDomain.objects.filter(domain__in=wanted).select_related(
            "organization"
        )
    }
    for domain in wanted:
        _domain_cache.put(domain, (owners.get(domain),))


def forget_organizations() -> None:
    """After organizations or their domains change: this process re-reads them at once."""
    _organization_cache.clear()
    _domain_cache.clear()
    _person_cache.clear()
