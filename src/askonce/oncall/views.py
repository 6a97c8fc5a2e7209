"""Pages outside the console that a secret in the address opens: the page a mailed acknowledge
or resolve link opens (confirm, then act once), and a person's calendar feed.

Opening a page link only shows what it will do: mail scanners that fetch every link must not
acknowledge a page nobody has read. The button posts; the link is the credential.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from askonce.core.errors import DomainError
from askonce.oncall.feeds import do_record_feed_use, feed_calendar, feed_for_token
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


@never_cache
@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A person's shifts as iCalendar, for calendar apps: the address is the credential."""
    feed = feed_for_token(token)
    if feed is None:
        # The same answer for a wrong, renewed or revoked address: nothing to guess from.
        raise Http404("No such calendar feed.")
    now = timezone.now()
    do_record_feed_use(feed=feed, now=now)
    answer = HttpResponse(feed_calendar(feed, now), content_type="text/calendar; charset=utf-8")
    answer["Content-Disposition"] = 'inline; filename="my-shifts.ics"'
    answer["X-Robots-Tag"] = "noindex"
    return answer
