"""Pages for agents (console), team members (team queue) and customers (portal).

Views stay thin: parse the form, call one query or action, render or redirect. Domain errors
become a message on the page the person came from; nothing is half-applied.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from askonce.accounts.models import User
from askonce.core.errors import DomainError, NotFound
from askonce.kb import actions as kb_actions
from askonce.kb import queries as kb_queries
from askonce.oncall import queries as oncall_queries
from askonce.oncall.paging import do_acknowledge_page, do_page_team, do_resolve_page
from askonce.questions import queries as question_queries
from askonce.teams.models import Team
from askonce.teams.queries import all_teams, is_agent, team_by_slug, team_ids_of
from askonce.tickets import actions, queries
from askonce.tickets.models import DocumentationDecision, Priority

View = Callable[..., HttpResponse]


def _me(request: HttpRequest) -> User:
    """The signed-in user; every view below is behind login_required."""
    return cast(User, request.user)


def staff_required(view: View) -> View:
    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _me(request).is_staff_member:
            return redirect("portal")
        return view(request, *args, **kwargs)

    return wrapper


def contact_required(view: View) -> View:
    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _me(request).is_contact:
            return redirect("home")
        return view(request, *args, **kwargs)

    return wrapper


def _lookup(request: HttpRequest, ticket_id: int) -> Any:
    try:
        return queries.access_ticket(_me(request), ticket_id)
    except NotFound as error:
        raise Http404(error.message) from error


def _page(items: Any, number: str | None, *, size: int) -> dict[str, Any]:
    """One page of a queue without counting every row (the counts come from queue_counts)."""
    try:
        current = max(1, int(number or 1))
    except ValueError:
        current = 1
    rows = list(items[(current - 1) * size : current * size + 1])
    return {
        "items": rows[:size],
        "number": current,
        "has_previous": current > 1,
        "has_next": len(rows) > size,
    }


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _me(request)
    if user.is_contact:
        return redirect("portal")
    if is_agent(user):
        return redirect("agent-queue")
    team = Team.objects.filter(pk__in=team_ids_of(user)).first()
    if team is not None:
        return redirect("team-queue", slug=team.slug)
    return redirect("agent-queue")


@staff_required
def agent_queue(request: HttpRequest) -> HttpResponse:
    queue = request.GET.get("queue", "unclaimed")
    if queue not in queries.QUEUES:
        raise Http404(f"Unknown queue {queue!r}")
    tickets = queries.queue_tickets(_me(request), queue)
    page = _page(tickets, request.GET.get("page"), size=50)
    counts = queries.queue_counts(_me(request))
    return render(
        request,
        "console/queue.html",
        {
            "queue": queue,
            "queue_title": queries.QUEUES[queue],
            "queues": [(key, title, counts[key]) for key, title in queries.QUEUES.items()],
            "page": page,
        },
    )


@staff_required
def team_queue(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        team = team_by_slug(slug)
    except NotFound as error:
        raise Http404(error.message) from error
    tickets = list(queries.team_queue(team)[:200])
    return render(
        request,
        "console/team_queue.html",
        {"team": team, "tickets": tickets, "misses": queries.response_misses_by_team()},
    )


@staff_required
def agent_ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _lookup(request, ticket_id)
    user = _me(request)
    events = queries.ticket_events(user, ticket)
    linked = queries.linked_article(events)
    suggestions: list[dict[str, object]] = []
    hints = None
    if ticket.status not in ("solved", "closed"):
        # The article that answered this question before comes first, then full-text matches.
        hints = question_queries.ticket_hints(user, ticket.pk)
        suggestions = queries.article_suggestions(user, ticket)
        if hints.answering_article is not None:
            first = hints.answering_article
            suggestions = [first, *[a for a in suggestions if a["slug"] != first["slug"]]][:5]
        internal = kb_queries.internal_slugs([str(a["slug"]) for a in suggestions])
        suggestions = [{**a, "internal": a["slug"] in internal} for a in suggestions]
    return render(
        request,
        "console/ticket.html",
        {
            "ticket": ticket,
            "thread": queries.ticket_messages(user, ticket),
            "events": events,
            "allowed": queries.actions_for(user, ticket),
            "may_post_internal": queries.may_post_internal(user, ticket),
            "may_post_public": is_agent(user),
            "teams": [team for team in all_teams() if team.slug != "support"],
            "all_teams": all_teams(),
            "decisions": DocumentationDecision.choices,
            "due_soon": queries.is_due_soon(ticket),
            "documentation_tasks": kb_queries.tasks_for_ticket(ticket.pk),
            "suggested_articles": suggestions,
            "hints": hints,
            "reply_draft": request.session.pop(_reply_draft_key(ticket.pk), ""),
            "linked_article": linked,
            "published_articles": kb_queries.articles_to_link(user),
            "categories": kb_queries.all_categories(),
            "default_category": settings.KB_DEFAULT_CATEGORY,
        },
    )


def _reply_draft_key(ticket_id: int) -> str:
    return f"reply-draft-{ticket_id}"


@staff_required
@require_POST
def agent_ticket_action(request: HttpRequest, ticket_id: int, action: str) -> HttpResponse:
    ticket = _lookup(request, ticket_id)
    user = _me(request)
    form = request.POST
    done = {
        "claim": "Claimed: the ticket is yours.",
        "assign": "Handed to the team; you stay the owner.",
        "take-back": "Taken back.",
        "pending": "Waiting for the customer.",
        "solve": "Solved.",
        "reopen": "Reopened.",
        "close": "Closed.",
        "reply": "Reply sent to the customer.",
        "note": "Internal note added.",
        "page": "Paged.",
        "answer-with-article": "Article linked: its link is in the reply below, ready to send.",
    }
    if action not in done:
        raise Http404(f"Unknown action {action!r}")
    try:
        if action == "claim":
            actions.do_claim_ticket(ticket=ticket, actor=user)
        elif action == "assign":
            actions.do_assign_to_team(
                ticket=ticket,
                team=team_by_slug(form.get("team", "")),
                actor=user,
                note=form.get("note", ""),
            )
        elif action == "take-back":
            actions.do_take_back(ticket=ticket, actor=user)
        elif action == "pending":
            actions.do_set_pending(ticket=ticket, actor=user)
        elif action == "solve":
            actions.do_solve_ticket(
                ticket=ticket,
                actor=user,
                resolution=form.get("resolution", ""),
                decision=form.get("decision", ""),
                article=form.get("article", ""),
                reason=form.get("reason", ""),
                category=form.get("category", ""),
            )
        elif action == "reopen":
            actions.do_reopen_ticket(ticket=ticket, actor=user)
        elif action == "close":
            actions.do_close_ticket(ticket=ticket, actor=user)
        elif action == "answer-with-article":
            answer = actions.do_answer_with_article(
                ticket=ticket, actor=user, article=form.get("article", "")
            )
            request.session[_reply_draft_key(ticket.pk)] = answer.reply
        elif action == "page":
            page = do_page_team(
                team=team_by_slug(form.get("team", "")),
                actor=user,
                summary=form.get("summary", "").strip() or f"Ticket #{ticket.pk}: {ticket.subject}",
                ticket_id=ticket.pk,
            )
            done["page"] = f"Page #{page.pk} sent to {page.policy.team.name}'s on-call."
        else:
            actions.do_post_message(
                ticket=ticket,
                author=user,
                body=form.get("body", ""),
                visibility="public" if action == "reply" else "internal",
            )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done[action])
    return HttpResponseRedirect(reverse("agent-ticket", args=[ticket.pk]))


@login_required
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    """Every download checks that the person may read the message the file came with."""
    try:
        attachment = queries.access_attachment(_me(request), attachment_id)
    except NotFound as error:
        raise Http404(error.message) from error
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@contact_required
def portal_home(request: HttpRequest) -> HttpResponse:
    tickets = queries.filter_tickets(_me(request))
    page = Paginator(tickets, 25).get_page(request.GET.get("page"))
    return render(request, "portal/home.html", {"page": page})


@contact_required
def portal_new_ticket(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    values = {"subject": "", "body": "", "priority": "normal"}
    # One ask-box visit per question: coming back (browser back, "No, file my ticket", a form
    # error) continues the same attempt, so an article read on the way is not counted as a
    # deflection when the customer files anyway.
    token = (
        request.POST.get("ask") or request.GET.get("ask") or request.session.get("kb_ask_token", "")
    )
    attempt = kb_queries.open_attempt_for(me, token)
    if request.method == "POST":
        values = {key: request.POST.get(key, "") for key in values}
        try:
            ticket = actions.do_create_ticket(
                subject=values["subject"],
                body=values["body"],
                requester=me,
                actor=me,
                priority=values["priority"] or "normal",
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            if attempt is not None:
                kb_actions.do_record_filed(token=attempt.token, ticket_id=ticket.pk)
            request.session.pop("kb_ask_token", None)
            messages.success(request, f"Ticket #{ticket.pk} opened. We will reply by email.")
            return redirect("portal-ticket", ticket_id=ticket.pk)
    if attempt is None:
        attempt = kb_actions.do_start_attempt(user=me, query=values["subject"])
    request.session["kb_ask_token"] = attempt.token
    return render(
        request,
        "portal/new.html",
        {
            "values": values,
            "priorities": [p for p in Priority.choices if p[0] != "urgent"],
            "ask_token": attempt.token,
        },
    )


@contact_required
def portal_ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _lookup(request, ticket_id)
    if request.method == "POST":
        try:
            actions.do_post_message(
                ticket=ticket,
                author=_me(request),
                body=request.POST.get("body", ""),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Reply sent.")
        return redirect("portal-ticket", ticket_id=ticket.pk)
    return render(
        request,
        "portal/ticket.html",
        {"ticket": ticket, "thread": queries.ticket_messages(_me(request), ticket)},
    )


@staff_required
def page_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status not in {"open", "triggered", "acknowledged", "resolved", "all"}:
        raise Http404(f"Unknown status {status!r}")
    pages = list(
        oncall_queries.filter_pages(_me(request), status=status).select_related(
            "policy", "policy__team", "ticket", "acknowledged_by", "resolved_by"
        )[:200]
    )
    return render(request, "console/pages.html", {"pages": pages, "status": status})


@staff_required
@require_POST
def page_action(request: HttpRequest, page_id: int, action: str) -> HttpResponse:
    try:
        page = oncall_queries.access_page(_me(request), page_id)
        if action == "ack":
            do_acknowledge_page(page=page, actor=_me(request), via="console")
            messages.success(request, f"Page #{page.pk} acknowledged; escalation stopped.")
        elif action == "resolve":
            do_resolve_page(page=page, actor=_me(request), via="console")
            messages.success(request, f"Page #{page.pk} resolved.")
        else:
            raise Http404(f"Unknown action {action!r}")
    except NotFound as error:
        raise Http404(error.message) from error
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("pages")
