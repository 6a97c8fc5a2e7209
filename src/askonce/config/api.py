"""The REST API under /api/v1: authentication, error shapes, and the routers of each domain."""

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer, django_auth

from askonce.accounts.models import User
from askonce.accounts.queries import user_for_token
from askonce.core.errors import DomainError


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


def _session(request: HttpRequest) -> User | None:
    result = django_auth(request)
    return result if isinstance(result, User) and result.is_active else None


api = NinjaAPI(
    title="AskOnce API",
    version="1",
    description="Tickets with an accountable hand-off. Authenticate with `Bearer <token>` "
    "(`askonce token create --email E`) or a signed-in session.",
    auth=[BearerToken(), _session],
    urls_namespace="api-v1",
)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return api.create_response(request, {"detail": error.message}, status=error.status_code)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    problems = []
    for item in error.errors:
        where = ".".join(str(part) for part in item.get("loc", [])[2:]) or "body"
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    return api.create_response(
        request, {"detail": "; ".join(problems), "errors": error.errors}, status=422
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": "Authentication required: send 'Authorization: Bearer <token>' or sign in."},
        status=401,
    )


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": str(error) or "Not found."}, status=404)


def _mount() -> None:
    from askonce.tickets.api import router as tickets_router

    api.add_router("/", tickets_router)
    api.add_router("/", "askonce.oncall.api.router")
    api.add_router("/", "askonce.notify.api.router")
    api.add_router("/", "askonce.kb.api.router")
    api.add_router("/", "askonce.search.api.router")
    api.add_router("/", "askonce.questions.api.router")


_mount()
