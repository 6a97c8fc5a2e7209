"""The page a mailed acknowledge or resolve link opens: confirm, then act once.

Opening the link only shows what it will do: mail scanners that fetch every link must not
acknowledge a page nobody has read. The button posts; the link is the credential.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from askonce.core.errors import DomainError
from askonce.oncall.models import PageLinkAction
from askonce.oncall.paging import do_use_page_link, page_link_for

TEMPLATE = "oncall/page_link.html"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def page_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "GET":
            link = page_link_for(token)
            verb = "Acknowledge" if link.action == PageLinkAction.ACKNOWLEDGE else "Resolve"
            return render(request, TEMPLATE, {"link": link, "page": link.page, "verb": verb})
        page = do_use_page_link(token=token)
    except DomainError as problem:
        answer = render(request, TEMPLATE, {"problem": problem.message})
        answer.status_code = problem.status_code
        return answer
    return render(request, TEMPLATE, {"page": page, "done": True})
