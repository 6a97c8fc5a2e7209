"""Staff pages of the question index: the gap queue (questions asked at least twice that no
article answers), overlapping articles, and the KCS dashboard."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from askonce.core.errors import DomainError
from askonce.kb.markdown import markdown_to_text
from askonce.kb.queries import can_edit_article
from askonce.kb.views.common import signed_in, staff_required
from askonce.questions import charts, gaps, kcs, overlaps


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


@staff_required
def overlap_queue(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    status = request.GET.get("status", "open")
    status = status if status in ("open", "merged", "kept") else "open"
    found = overlaps.overlaps_for(me, status=status, mine=request.GET.get("mine") == "1")[:200]
    rows = [
        {
            "overlap": overlap,
            "articles": [
                (article, markdown_to_text(article.body)[:280], can_edit_article(me, article))
                for article in (overlap.article, overlap.other)
            ],
        }
        for overlap in found
    ]
    return render(
        request,
        "questions/overlaps.html",
        {"rows": rows, "status": status, "mine": request.GET.get("mine") == "1"},
    )


@staff_required
@require_POST
def overlap_decide(request: HttpRequest, overlap_id: int) -> HttpResponse:
    me = signed_in(request)
    # One button per choice: "merge:<slug of the article kept>" or "keep".
    decision, _, keep = request.POST.get("choice", "").partition(":")
    try:
        overlap = overlaps.do_decide_overlap(
            overlap=overlaps.access_overlap(me, overlap_id),
            actor=me,
            decision=overlaps.Decision(decision, keep, request.POST.get("note", "")),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("overlap-queue")
    if overlap.kept is not None:
        messages.success(
            request,
            f"Merged: '{overlap.kept.title}' stays; the other article is archived and its "
            "readers are sent here.",
        )
    else:
        messages.success(request, "Kept both articles: this pair will not be flagged again.")
    return redirect("overlap-queue")


@staff_required
def kcs_dashboard(request: HttpRequest) -> HttpResponse:
    try:
        weeks = int(request.GET.get("weeks", "12"))
    except ValueError:
        weeks = 12
    weeks = min(max(weeks, 4), kcs.MAX_WEEKS)
    figures = kcs.kcs_figures(signed_in(request), weeks=weeks)
    return render(
        request,
        "questions/kcs.html",
        {
            "figures": figures,
            "weeks": weeks,
            "this_week": figures.weeks[-1],
            "last_week": figures.weeks[-2] if len(figures.weeks) > 1 else None,
            "rates_chart": charts.rates_chart(figures),
            "gaps_chart": charts.gaps_chart(figures),
            "self_service_chart": charts.self_service_chart(figures),
        },
    )
