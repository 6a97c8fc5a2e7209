"""The gap queue: questions asked at least twice that no article answers (staff)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from askonce.core.errors import DomainError
from askonce.kb.views.common import signed_in, staff_required
from askonce.questions import gaps


@staff_required
def gap_queue(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    status = request.GET.get("status", "open")
    status = status if status in ("open", "closed") else "open"
    rows = [
        {
            "gap": gap,
            "askings": list(gaps.occurrences(gap)[:5]),
            "count": gaps.occurrences(gap).count(),
        }
        for gap in gaps.gaps_for(me, status=status, mine=request.GET.get("mine") == "1")[:200]
    ]
    return render(request, "questions/gaps.html", {"rows": rows, "status": status})


@staff_required
@require_POST
def gap_write(request: HttpRequest, gap_id: int) -> HttpResponse:
    try:
        article = gaps.do_write_article_from_gap(
            gap=gaps.access_gap(gap_id), actor=signed_in(request)
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("gap-queue")
    messages.success(request, "Draft written from the gap: publishing it closes the gap.")
    return redirect("kb-edit", slug=article.slug)
