"""What the help-center and staff pages share: who is reading, access, small parsers."""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from askonce.accounts.models import User
from askonce.core.errors import Forbidden, NotFound
from askonce.kb import queries
from askonce.kb.models import Article

View = Callable[..., HttpResponse]


def reader(request: HttpRequest) -> User | None:
    """The signed-in person, or None for an anonymous help-center reader."""
    return cast(User, request.user) if request.user.is_authenticated else None


def signed_in(request: HttpRequest) -> User:
    """The signed-in user; every view that calls this is behind staff_required."""
    return cast(User, request.user)


def staff_required(view: View) -> View:
    """Staff only: anonymous readers sign in first, customers get a 403 page with a way out."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not queries.is_staff_reader(signed_in(request)):
            return forbidden(request, "The knowledge-base editor is for staff.")
        return view(request, *args, **kwargs)

    return wrapper


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "kb/forbidden.html", {"reason": reason}, status=403)


def article_or_404(user: User | None, slug: str) -> Article:
    try:
        return queries.access_article(user, slug)
    except NotFound as error:
        raise Http404(error.message) from error


def editable_article(request: HttpRequest, slug: str) -> Article | HttpResponse:
    """The article if this staff member may change it, else the page that says who may."""
    try:
        return queries.access_article_for_edit(signed_in(request), slug)
    except NotFound as error:
        raise Http404(error.message) from error
    except Forbidden as error:
        return forbidden(request, error.message)


def back_to(request: HttpRequest, default: str) -> str:
    """Where a form asked to return to, if that is a page of this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def whole_number(text: str | None, *, default: int) -> int:
    try:
        return int(text or "")
    except ValueError:
        return default
