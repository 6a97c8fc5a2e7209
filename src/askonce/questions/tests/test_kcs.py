"""KCS figures: link rate, repeat rate, gaps opened and closed, deflections, week by week, and
the questions asked most that no article answers."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from askonce.kb.actions import do_create_article, do_create_category
from askonce.kb.models import AttemptOutcome, SelfServiceAttempt
from askonce.kb.queries import Owner
from askonce.questions.actions import do_index_new_tickets
from askonce.questions.index import forget_question_index
from askonce.search.embeddings import encoder
from askonce.tickets.actions import do_claim_ticket, do_solve_ticket

pytestmark = pytest.mark.django_db

# A Wednesday; its week starts on Monday 2026-11-23.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_index():
    if encoder() is None:
        pytest.skip("the embedding model is not installed")
    forget_question_index()
    yield
    forget_question_index()


def _ticket(make_ticket, make_contact, subject, body, capture):
    with capture(execute=True):
        ticket = make_ticket(make_contact(), subject=subject, body=body)
    do_index_new_tickets()
    return ticket


def _solve(ticket, agent, capture, *, article=""):
    do_claim_ticket(ticket=ticket, actor=agent)
    with capture(execute=True):
        do_solve_ticket(
            ticket=ticket,
            actor=agent,
            resolution="answered",
            decision="linked" if article else "not_needed",
            article=article,
            reason="" if article else "one-off",
        )


def test_weekly_figures_and_top_unanswered(
    make_ticket, make_contact, make_staff, api_as, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    agent = make_staff("support")
    category = do_create_category(slug="cards", name="Cards", owner=Owner(user=agent))
    article = do_create_article(
        actor=agent,
        title="Card delivery times",
        body="Cards arrive within 7 working days.",
        category=category,
        owner=Owner(user=agent),
        publish=True,
    )
    with time_machine.travel(NOW - timedelta(weeks=2), tick=False):
        old = _ticket(make_ticket, make_contact, "Reset my password", "I forgot it.", capture)
        _solve(old, agent, capture)
    with time_machine.travel(NOW, tick=False):
        first = _ticket(
            make_ticket, make_contact, "My card has not arrived", "Ordered two weeks ago.", capture
        )
        _ticket(
            make_ticket, make_contact, "Still waiting for my card", "When will it come?", capture
        )
        _solve(first, agent, capture, article=article.slug)
        for subject in ("How do I export my statements?", "Export statements as CSV"):
            _ticket(make_ticket, make_contact, subject, "I need them for my accountant.", capture)
        for outcome in (AttemptOutcome.DEFLECTED, AttemptOutcome.DEFLECTED, AttemptOutcome.FILED):
            SelfServiceAttempt.objects.create(
                token=f"t{SelfServiceAttempt.objects.count()}", outcome=outcome, decided_at=NOW
            )
        report = api_as(agent).get("/kcs", weeks=4)
    assert report.status_code == 200, report.content
    figures = report.json()
    assert [week["start"] for week in figures["weeks"]] == [
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
    ]
    two_weeks_ago, this_week = figures["weeks"][1], figures["weeks"][3]
    assert (two_weeks_ago["solved"], two_weeks_ago["linked"], two_weeks_ago["questions"]) == (
        1,
        0,
        1,
    )
    assert two_weeks_ago["link_rate"] == 0.0
    assert (this_week["solved"], this_week["linked"], this_week["link_rate"]) == (1, 1, 1.0)
    assert (this_week["questions"], this_week["repeats"], this_week["repeat_rate"]) == (4, 2, 0.5)
    assert (this_week["deflected"], this_week["filed"]) == (2, 1)
    assert figures["weeks"][2]["link_rate"] is None  # nothing solved: no rate, not zero
    totals = figures["totals"]
    assert (totals["solved"], totals["linked"], totals["questions"]) == (2, 1, 5)
    # The card question, asked twice, opened a gap; solving an asking of it with the article
    # closed it. The statements question, asked twice, is the one left unanswered.
    assert (this_week["gaps_opened"], this_week["gaps_closed"]) == (2, 1)
    assert figures["open_gaps"] == 1
    assert [item["askings"] for item in figures["top_unanswered"]] == [2]
    assert "statements" in figures["top_unanswered"][0]["title"].lower()


def test_the_dashboard_page_draws_its_charts(make_staff, make_contact, client, api_as) -> None:
    agent = make_staff("support")
    client.force_login(agent)
    page = client.get("/console/kb/kcs/", {"weeks": "8"})
    assert page.status_code == 200
    html = page.content.decode()
    for chart in ("chart-rates", "chart-gaps", "chart-self-service"):
        assert f'data-testid="{chart}"' in html
    assert html.count("<svg") >= 3
    assert "Link rate and repeat rate" in html
    assert "cdn" not in html.lower()  # the charts fetch nothing
    assert client.get("/console/kb/kcs/", {"weeks": "nonsense"}).status_code == 200

    assert api_as(agent).get("/kcs", weeks=0).status_code == 422
    assert api_as(agent).get("/kcs", weeks=1000).status_code == 422
    assert api_as(make_contact()).get("/kcs").status_code == 403
    client.force_login(make_contact())
    assert client.get("/console/kb/kcs/").status_code == 403
