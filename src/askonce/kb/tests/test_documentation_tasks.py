"""Solving a ticket with a documentation decision: linked articles are checked, `needed` opens a
task for the category owner, and publishing the article closes it and links the ticket."""

import pytest

from askonce.core.models import Event
from askonce.kb.actions import (
    do_open_tasks_for_unhandled_events,
    do_publish_article,
    do_start_article_for_task,
)
from askonce.kb.models import DocumentationTask
from askonce.kb.queries import open_tasks_for
from askonce.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def claimed(make_ticket, make_staff, api_as):
    agent = api_as(make_staff("support"))
    ticket = make_ticket(subject="How do I purge by surrogate key?")
    agent.post(f"/tickets/{ticket.pk}/claim")
    return ticket, agent


def test_linked_must_name_a_published_article(claimed, make_article) -> None:
    ticket, agent = claimed
    draft = make_article("Draft answer", publish=False)
    for reference, words in (("no-such-article", "No article"), (draft.slug, "is draft")):
        answer = agent.post(
            f"/tickets/{ticket.pk}/solve",
            {"resolution": "x", "documentation": {"decision": "linked", "article": reference}},
        )
        assert answer.status_code == 422
        assert words in answer.json()["detail"]
    assert Ticket.objects.get(pk=ticket.pk).status == "open"

    article = make_article("Purging by surrogate key")
    answer = agent.post(
        f"/tickets/{ticket.pk}/solve",
        {
            "resolution": "Sent the doc",
            "documentation": {
                "decision": "linked",
                "article": f"http://testserver/help/articles/{article.slug}/",
            },
        },
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["documentation"]["article"] == article.slug


def test_needed_opens_a_task_that_publishing_closes(
    claimed, make_staff, make_category, api_as, client, django_capture_on_commit_callbacks
) -> None:
    """Agent solves with 'needed' → the category owner has a task → publishing links the ticket."""
    ticket, agent = claimed
    writer = make_staff("support", name="Wren Writer")
    make_category("caching", owner=writer)
    with django_capture_on_commit_callbacks(execute=True):
        answer = agent.post(
            f"/tickets/{ticket.pk}/solve",
            {
                "resolution": "Use the purge API with the Surrogate-Key header.",
                "documentation": {"decision": "needed", "category": "caching"},
            },
        )
    assert answer.status_code == 200, answer.content

    tasks = open_tasks_for(writer)
    assert len(tasks) == 1
    task = tasks[0]
    assert task.ticket_id == ticket.pk
    assert task.summary == "How do I purge by surrogate key?"
    assert "Surrogate-Key" in task.details
    assert open_tasks_for(agent.user) == []
    listed = api_as(writer).get("/documentation-tasks", mine=True).json()
    assert [item["id"] for item in listed] == [task.pk]

    article = do_start_article_for_task(task=task, actor=writer)
    assert article.status == "draft"
    assert "Surrogate-Key" in article.body
    with django_capture_on_commit_callbacks(execute=True):
        do_publish_article(article=article, actor=writer)

    task.refresh_from_db()
    assert task.status == "done"
    assert task.article_id == article.pk
    ticket.refresh_from_db()
    assert ticket.documentation_article == article.slug
    assert Event.objects.filter(
        subject_type="ticket", subject_id=ticket.pk, verb="documentation.linked"
    ).exists()
    shown = agent.get(f"/tickets/{ticket.pk}").json()["documentation"]
    assert shown == {"decision": "needed", "article": article.slug, "reason": None}

    # The agent's ticket page links the article and says the task is done.
    client.force_login(agent.user)
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert f'href="/help/articles/{article.slug}/"' in page
    assert f"Documentation task #{task.pk}: done" in page


def test_needed_with_unknown_category_is_refused(claimed) -> None:
    ticket, agent = claimed
    answer = agent.post(
        f"/tickets/{ticket.pk}/solve",
        {"resolution": "x", "documentation": {"decision": "needed", "category": "nope"}},
    )
    assert answer.status_code == 422
    assert "Unknown category 'nope'" in answer.json()["detail"]


def test_a_lost_event_still_opens_its_task_once(claimed, make_staff, make_category) -> None:
    """The subscriber did not run (no commit callbacks here, as after a crash): the sweep opens
    the task, and running it again opens nothing more."""
    ticket, agent = claimed
    owner = make_staff("support")
    make_category("general", owner=owner)
    agent.post(
        f"/tickets/{ticket.pk}/solve",
        {"resolution": "x", "documentation": {"decision": "needed"}},
    )
    assert not DocumentationTask.objects.exists()
    assert do_open_tasks_for_unhandled_events() == 1
    assert do_open_tasks_for_unhandled_events() == 0
    task = DocumentationTask.objects.get()
    assert task.assignee_user == owner


def test_agents_see_articles_that_may_answer_the_ticket(
    make_ticket, make_staff, make_article, api_as, client
) -> None:
    make_article(
        "Purge by surrogate key",
        body="Tag responses with a Surrogate-Key header, then purge the key.",
    )
    make_article("Download invoices", body="Account, billing, invoices.")
    make_article("Internal purge runbook", body="Surrogate key purges, for ops.", internal=True)
    ticket = make_ticket(subject="Purge everything tagged with a surrogate key?", body="How?")
    agent = make_staff("support")

    suggested = api_as(agent).get(f"/tickets/{ticket.pk}/suggestions").json()
    titles = [item["title"] for item in suggested["articles"]]
    assert titles[0] == "Purge by surrogate key"
    assert "Download invoices" not in titles
    assert suggested["similar"] == []
    # The requester may ask too, and never sees internal articles.
    customer = api_as(ticket.requester).get(f"/tickets/{ticket.pk}/suggestions").json()
    assert "Internal purge runbook" not in [item["title"] for item in customer["articles"]]
    assert "Internal purge runbook" in titles

    client.force_login(agent)
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Articles that may answer this" in page
    assert "<mark>" in page
