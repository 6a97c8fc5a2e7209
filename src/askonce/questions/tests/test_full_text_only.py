"""Full-text-only mode (ASKONCE_EMBEDDINGS=off, for small machines): no model is loaded, the
log says so once, and suggestions still find articles and solved questions by their words."""

import logging

import numpy as np
import pytest

from askonce.kb.actions import do_create_article, do_create_category
from askonce.kb.queries import Owner
from askonce.questions.actions import do_index_new_tickets
from askonce.questions.index import forget_question_index
from askonce.questions.models import Gap, Question
from askonce.questions.words import WordIndex, words_of
from askonce.search import embeddings
from askonce.tickets.actions import do_claim_ticket, do_post_message, do_solve_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _full_text_only(settings, monkeypatch):
    settings.EMBEDDINGS = False
    monkeypatch.setattr(embeddings, "_reported", set())  # this process has said nothing yet
    forget_question_index()
    yield
    forget_question_index()


@pytest.fixture
def ask(make_ticket, django_capture_on_commit_callbacks):
    """make_ticket, then what the worker does: subscribers after commit, new tickets indexed."""

    def make(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = make_ticket(*args, **kwargs)
        do_index_new_tickets()
        return ticket

    return make


@pytest.fixture
def solve(django_capture_on_commit_callbacks):
    def run(ticket, agent, answer: str) -> None:
        do_claim_ticket(ticket=ticket, actor=agent)
        do_post_message(ticket=ticket, author=agent, body=answer)
        with django_capture_on_commit_callbacks(execute=True):
            do_solve_ticket(
                ticket=ticket,
                actor=agent,
                resolution="answered",
                decision="not_needed",
                reason="one-off",
            )

    return run


def test_suggest_finds_articles_and_solved_questions_by_their_words(
    ask, solve, make_contact, make_organization, make_staff, api_as, caplog
) -> None:
    """A customer types a question on a server without embeddings: the article and the answer
    their colleague got earlier are both suggested; other organizations' answers are not."""
    agent = make_staff("support")
    category = do_create_category(slug="cards", name="Cards", owner=Owner(user=agent))
    do_create_article(
        actor=agent,
        title="Resetting your card PIN",
        body="Open Cards, choose the card and press Reset PIN.",
        category=category,
        owner=Owner(user=agent),
        publish=True,
    )
    acme, bistro = make_organization(), make_organization()
    alice, colleague, bob = make_contact(acme), make_contact(acme), make_contact(bistro)
    earlier = ask(alice, subject="Forgot my card PIN", body="How do I reset the PIN?")
    solve(earlier, agent, "Go to Cards, then Reset PIN in the app.")
    ask(alice, subject="Exchange rates", body="Which exchange rate applies to transfers?")

    with caplog.at_level(logging.WARNING, logger=embeddings.__name__):
        own = api_as(colleague).get("/suggest", q="how can I reset my PIN").json()
        other = api_as(bob).get("/suggest", q="how can I reset my PIN").json()

    assert [a["title"] for a in own["articles"]] == ["Resetting your card PIN"]
    assert [s["source_id"] for s in own["similar"]] == [earlier.pk]
    assert "Reset PIN in the app" in own["similar"][0]["answer"]
    assert 0 < own["similar"][0]["similarity"] <= 1
    assert other["similar"] == []  # Bob may not read Acme's question
    assert [a["title"] for a in other["articles"]] == ["Resetting your card PIN"]
    # Said once for the process, with what is off and how to turn it on.
    [record] = [r for r in caplog.records if r.name == embeddings.__name__]
    assert "ASKONCE_EMBEDDINGS=off" in record.getMessage()
    assert "not detected" in record.getMessage()
    assert "ASKONCE_EMBEDDINGS=on" in record.getMessage()


def test_questions_are_stored_without_embeddings_and_repeats_are_not_detected(
    ask, make_staff, api_as
) -> None:
    """The same question twice: both are stored, neither links to the other, no gap opens;
    the ticket's suggestions still list the earlier question, found by its words."""
    first = ask(subject="My new card has not arrived", body="I ordered a card two weeks ago.")
    second = ask(subject="New card not arrived yet", body="When will the card I ordered arrive?")
    stored = Question.objects.order_by("pk")
    assert [q.source_id for q in stored] == [first.pk, second.pk]
    assert all(q.embedding is None and q.repeat_of is None for q in stored)
    assert not Gap.objects.exists()
    assert embeddings.encoder() is None

    view = api_as(make_staff("support")).get(f"/tickets/{second.pk}/suggestions").json()
    assert [s["source_id"] for s in view["similar"]] == [first.pk]
    assert view["repeat_of"] is None


def test_switched_back_on_the_model_is_used_again(settings, ask, api_as, make_contact) -> None:
    settings.EMBEDDINGS = True
    if embeddings.encoder() is None:
        pytest.skip("the embedding model is not installed")
    ticket = ask(subject="Card payment declined", body="Why was my card payment declined?")
    assert Question.objects.get(source_id=ticket.pk).embedding is not None
    answer = api_as(make_contact()).get("/suggest", q="card declined")
    assert answer.status_code == 200


def test_word_index_ranks_rare_shared_words_first_and_catches_up() -> None:
    index = WordIndex()
    index.add(
        [
            (1, "My card payment was declined"),
            (2, "Card arrived damaged"),
            (3, "Top-up by bank transfer failed"),
            (4, "Which cards do you offer?"),
        ]
    )
    assert words_of("Cards declined? The PIN's wrong") == ["card", "declined", "pin", "wrong"]
    found = index.search("payment declined at the shop", k=3)
    assert [n.key for n in found] == [1]
    assert found[0].score == pytest.approx(1.0, abs=0.2)
    # "card" is in three of the four: the one that also has "damaged" wins, then the shortest.
    assert [n.key for n in index.search("damaged card", k=2)] == [2, 4]
    assert [n.key for n in index.search("damaged card", k=2, exclude={2})] == [4, 1]
    assert index.search("the and of", k=3) == []  # stop words only
    assert index.search("", k=3) == []
    index.add([(9, "Declined again")])
    assert index.max_key == 9
    assert [n.key for n in index.search("declined", k=2)] == [9, 1]  # shorter text first
    assert index.memory_bytes() > 0
    assert np.isfinite([n.score for n in index.search("card", k=4)]).all()
