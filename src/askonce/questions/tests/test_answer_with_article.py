"""'Answer with this article' on the agent's ticket page: one click links the article, puts its
link in the reply, and solving defaults to it. The article that answered the same question
before is offered first."""

import pytest

from askonce.kb.actions import do_create_article, do_create_category
from askonce.kb.queries import Owner
from askonce.questions.actions import do_index_new_tickets
from askonce.questions.index import forget_question_index
from askonce.search.embeddings import encoder
from askonce.testing.browser import screenshot
from askonce.tickets.actions import do_claim_ticket, do_create_ticket, do_solve_ticket
from askonce.tickets.models import Ticket


@pytest.fixture(autouse=True)
def _fresh_index():
    if encoder() is None:
        pytest.skip("the embedding model is not installed")
    forget_question_index()
    yield
    forget_question_index()


def _answered_before(make_staff, make_contact, *, agent_email=None):
    """An earlier customer's question was solved with an article; now another asks it."""
    agent = make_staff("support", email=agent_email, name="Sam Rivera")
    category = do_create_category(slug="cards", name="Cards", owner=Owner(user=agent))
    article = do_create_article(
        actor=agent,
        title="When will my new card arrive?",
        body="Cards are posted within 2 working days and arrive within 7.",
        category=category,
        owner=Owner(user=agent),
        publish=True,
    )
    internal = do_create_article(
        actor=agent,
        title="Card printing vendor escalation",
        body="Internal: how to chase the card printer.",
        category=category,
        owner=Owner(user=agent),
        publish=True,
        internal=True,
    )
    earlier_customer = make_contact(name="Ada Early")
    earlier = do_create_ticket(
        subject="My new card has not arrived",
        body="I ordered a card ten days ago and it is still not here.",
        requester=earlier_customer,
        actor=earlier_customer,
    )
    do_index_new_tickets()
    do_claim_ticket(ticket=earlier, actor=agent)
    do_solve_ticket(
        ticket=earlier,
        actor=agent,
        resolution="sent the article",
        decision="linked",
        article=article.slug,
    )
    customer = make_contact(name="Bea Later")
    ticket = do_create_ticket(
        subject="Where is my card?",
        body="My replacement card still has not come in the post. When does it arrive?",
        requester=customer,
        actor=customer,
    )
    do_index_new_tickets()
    return agent, article, internal, ticket


@pytest.mark.django_db
def test_answer_with_article_through_the_api(
    make_staff, make_contact, api_as, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        agent, article, internal, ticket = _answered_before(make_staff, make_contact)
    staff = api_as(agent)
    hints = staff.get(f"/tickets/{ticket.pk}/suggestions").json()
    assert hints["repeat_of"] is not None

    answer = staff.post(f"/tickets/{ticket.pk}/answer-with-article", {"article": article.slug})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["slug"] == article.slug
    assert body["url"].endswith(f"/help/articles/{article.slug}/")
    assert body["url"] in body["reply"] and body["reply"].startswith("Hi Bea,")
    events = [e["verb"] for e in staff.get(f"/tickets/{ticket.pk}/events").json()]
    assert "ticket.article_linked" in events
    assert Ticket.objects.get(pk=ticket.pk).status == "new"  # nothing was sent or changed

    # Internal articles, unknown articles and customers are refused, with a reason.
    refused = staff.post(f"/tickets/{ticket.pk}/answer-with-article", {"article": internal.slug})
    assert refused.status_code == 422 and "internal" in refused.json()["detail"]
    missing = staff.post(f"/tickets/{ticket.pk}/answer-with-article", {"article": "nope"})
    assert missing.status_code == 422
    customer = api_as(ticket.requester)
    assert (
        customer.post(f"/tickets/{ticket.pk}/answer-with-article", {"article": article.slug})
    ).status_code == 403


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_one_click_answer_with_the_article_that_answered_before(
    make_staff, make_contact, open_page
) -> None:
    _, article, _, ticket = _answered_before(
        make_staff, make_contact, agent_email="sam@example.com"
    )
    page = open_page("sam@example.com", "pw-staff-123")
    page.goto(f"/console/tickets/{ticket.pk}/")
    first = page.get_by_test_id("suggested-article").first
    assert "When will my new card arrive?" in first.inner_text()
    assert "answered this before" in first.inner_text()
    assert "Repeat" in page.get_by_test_id("asked-before").inner_text()
    internal = page.get_by_test_id("suggested-article").filter(has_text="Card printing vendor")
    assert internal.get_by_role("button").count() == 0  # internal: never sent to a customer

    first.get_by_role("button", name="Answer with this article").click()
    reply = page.get_by_test_id("reply-body")
    assert f"/help/articles/{article.slug}/" in reply.input_value()
    screenshot(page, "ticket-answer-with-article")
    page.get_by_role("button", name="Send reply").click()
    page.get_by_role("button", name="Claim").click()

    assert page.locator("details.solve[open]").count() == 1  # linked: the solve form is open
    assert page.locator("input[name=decision][value=linked]").is_checked()
    assert page.get_by_label("Article, when linked").input_value() == article.slug
    page.fill("textarea[name=resolution]", "Sent the delivery article.")
    page.get_by_role("button", name="Solve ticket").click()
    assert page.get_by_test_id("status").inner_text().strip() == "Solved"
    solved = Ticket.objects.get(pk=ticket.pk)
    assert solved.documentation_decision == "linked"
    assert solved.documentation_article == article.slug
    assert article.slug in solved.messages.filter(visibility="public").last().body
