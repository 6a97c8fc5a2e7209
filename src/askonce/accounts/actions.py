"""Every write to organizations, people and tokens."""

import secrets

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import IntegrityError, transaction
from django.utils import timezone

from askonce.accounts.models import ApiToken, Organization, OrganizationDomain, Plan, User
from askonce.accounts.queries import (
    forget_cached_tokens,
    forget_organizations,
    known_person,
    organization_for_domain,
    remember_person,
    remember_person_in_batch,
)
from askonce.accounts.tokens import hash_token, new_token
from askonce.core.batch import insert_row_later, own_savepoint
from askonce.core.errors import InvalidInput
from askonce.core.events import record_event
from askonce.core.text import clean_line


def do_create_organization(
    *, name: str, plan: str = Plan.STANDARD, domains: list[str] | None = None
) -> Organization:
    if plan not in Plan.values:
        raise InvalidInput(f"Unknown plan {plan!r}; choose one of: {', '.join(Plan.values)}.")
    with transaction.atomic():
        organization = Organization.objects.create(
            name=clean_line(name, field="name", max_length=200), plan=plan
        )
        for domain in domains or []:
            OrganizationDomain.objects.create(organization=organization, domain=domain.lower())
        record_event(
            verb="organization.created",
            subject_type="organization",
            subject_id=organization.pk,
            organization_id=organization.pk,
            data={"plan": plan, "domains": domains or []},
        )
        if domains:
            # New domains: contacts who write from them join at once, in every process within
            # PERSON_CACHE_SECONDS (accounts/queries.py).
            forget_organizations()
            transaction.on_commit(forget_organizations)
    return organization


def do_create_user(
    *,
    email: str,
    password: str | None,
    kind: str,
    full_name: str = "",
    organization: Organization | None = None,
    time_zone: str = "UTC",
    is_admin: bool = False,
) -> User:
    email = email.strip().lower()
    if "@" not in email or any(ch in email for ch in " \r\n<>,;"):
        raise InvalidInput(f"{email!r} is not an email address.")
    if kind not in User.Kind.values:
        raise InvalidInput(f"Unknown kind {kind!r}; choose one of: {', '.join(User.Kind.values)}.")
    if kind == User.Kind.STAFF and organization is not None:
        raise InvalidInput("Staff users do not belong to a customer organization.")
    try:
        with transaction.atomic(savepoint=own_savepoint()):
            user = _insert_user(email, password, kind, full_name, organization, time_zone, is_admin)
    except IntegrityError as error:  # the unique email, also when two requests race
        if not own_savepoint():
            raise  # in an all-or-nothing batch (core/batch.py): undone whole and tried again
        raise InvalidInput(f"A user with the email {email} already exists.") from error
    return user


def _insert_user(
    email: str,
    password: str | None,
    kind: str,
    full_name: str,
    organization: Organization | None,
    time_zone: str,
    is_admin: bool,
) -> User:
    """The row and its event; the caller's transaction makes them one."""
    if password is None and not is_admin:
        # Contacts arriving by mail or a form: the hottest way in. Without a password,
        # AbstractBaseUser.save() adds nothing to a plain INSERT, so it goes prepared.
        user = User(
            email=email,
            kind=kind,
            full_name=full_name,
            organization=organization,
            time_zone=time_zone,
        )
        # What set_unusable_password() stores ("!" and 40 random characters), without drawing
        # the characters one by one from the system's random source.
        user.password = UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)
        insert_row_later(user, needs_id=True, skip_own_save=True)  # deferred in a batch
    else:
        user = User.objects.create_user(
            email,
            password,
            kind=kind,
            full_name=full_name,
            organization=organization,
            time_zone=time_zone,
            is_staff=is_admin,
            is_superuser=is_admin,
        )
    record_event(
        verb="user.created",
        subject_type="user",
        subject_id=user.pk,
        organization_id=organization.pk if organization else None,
        data={"kind": kind, "admin": is_admin},
    )
    return user


def do_find_or_create_contact(*, email: str, full_name: str = "") -> User:
    """The contact for an email address; new addresses join the organization owning the domain."""
    return do_get_or_create_contact(email=email, full_name=full_name)[0]


def do_get_or_create_contact(*, email: str, full_name: str = "") -> tuple[User, bool]:
    """`do_find_or_create_contact`, and whether the contact is new."""
    email = email.strip().lower()
    existing = known_person(email)
    if existing is not None:
        return existing, False
    try:
        contact = do_create_user(
            email=email,
            password=None,
            kind=User.Kind.CONTACT,
            full_name=full_name,
            organization=organization_for_domain(email.rpartition("@")[2]),
        )
    except InvalidInput:
        # A concurrent request created this contact first (or the address is invalid).
        raced = User.objects.select_related("organization").filter(email=email).first()
        if raced is None:
            raise
        return raced, False
    remember_person_in_batch(contact)  # a batch that looked them up as unknown finds them now
    transaction.on_commit(lambda: remember_person(contact))  # their next ticket needs no look-up
    return contact, True


def do_create_api_token(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is not stored and shown only once."""
    secret = new_token()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=secret[:10], key_hash=hash_token(secret)
        )
        record_event(verb="token.created", subject_type="user", subject_id=user.pk, note=name)
    return token, secret


def do_revoke_api_token(*, token: ApiToken) -> None:
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        transaction.on_commit(forget_cached_tokens)  # this process at once; others within 10 s
        record_event(verb="token.revoked", subject_type="user", subject_id=token.user_id)
