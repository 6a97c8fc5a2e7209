"""The question index: every ticket's question is stored, embedded and linked to the earlier
question it repeats; suggestions show earlier answers to those allowed to see them."""

import pytest
from django.conf import settings

from askonce.questions.actions import do_index_new_tickets, do_record_unindexed_tickets
from askonce.questions.index import forget_question_index
from askonce.questions.models import Question
from askonce.search.embeddings import encoder
from askonce.tickets.actions import do_claim_ticket, do_post_message, do_solve_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ask(make_ticket, django_capture_on_commit_callbacks):
    """make_ticket, then what the worker does: subscribers after commit, new tickets indexed."""

    def make(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = make_ticket(*args, **kwargs)
        do_index_new_tickets()  # what the worker does every second or two
        return ticket

    return make


@pytest.fixture(autouse=True)
def _fresh_index():
    if encoder() is None:
        pytest.skip("the embedding model is not installed")
    forget_question_index()
    yield
    forget_question_index()


def _solve(ticket, agent, answer: str, capture) -> None:
    do_claim_ticket(ticket=ticket, actor=agent)
    do_post_message(ticket=ticket, author=agent, body=answer)
    with capture(execute=True):
        do_solve_ticket(
            ticket=ticket,
            actor=agent,
            resolution="answered",
            decision="not_needed",
            reason="one-off",
        )


def test_a_reworded_question_from_another_organization_is_a_repeat(
    ask, make_contact, make_organization
) -> None:
    """Two customers ask the same thing in different words: the second links to the first."""
    first = ask(
        make_contact(make_organization()),
        subject="My new card still has not arrived",
        body="I ordered a card two weeks ago and it is still not here.",
    )
    second = ask(
        make_contact(make_organization()),
        subject="Still waiting for my card",
        body="When will the card I ordered be delivered?",
    )
    unrelated = ask(
        subject="Exchange rate on transfers",
        body="Which exchange rate do you use for transfers in euros?",
    )
    asked_first = Question.objects.get(source_type="ticket", source_id=first.pk)
    asked_second = Question.objects.get(source_type="ticket", source_id=second.pk)
    assert asked_first.repeat_of is None
    assert asked_second.repeat_of == asked_first
    assert asked_second.similarity is not None
    assert asked_second.similarity >= settings.QUESTION_REPEAT_THRESHOLD
    assert Question.objects.get(source_id=unrelated.pk).repeat_of is None
    assert asked_second.organization_id != asked_first.organization_id


def test_suggestions_show_earlier_answers_to_staff_and_own_organization_only(
    ask, make_contact, make_organization, make_staff, api_as, django_capture_on_commit_callbacks
) -> None:
    agent = make_staff("support")
    acme, bistro = make_organization(), make_organization()
    alice, bob = make_contact(acme), make_contact(bistro)
    earlier = ask(alice, subject="How do I reset my PIN?", body="I forgot my card PIN.")
    _solve(
        earlier, agent, "Go to Cards → Reset PIN in the app.", django_capture_on_commit_callbacks
    )
    later = ask(bob, subject="Forgot the PIN of my card", body="How can I reset it?")

    staff_view = api_as(agent).get(f"/tickets/{later.pk}/suggestions").json()
    assert [s["source_id"] for s in staff_view["similar"]] == [earlier.pk]
    assert staff_view["repeat_of"]["source_id"] == earlier.pk
    assert "Reset PIN" in staff_view["similar"][0]["answer"]

    # Bob may not read Acme's question or the answer Alice got.
    assert api_as(bob).get(f"/tickets/{later.pk}/suggestions").json()["similar"] == []
    assert api_as(bob).get("/suggest", q="how do I reset my card PIN").json()["similar"] == []
    own = api_as(alice).get("/suggest", q="how do I reset my card PIN").json()["similar"]
    assert [s["source_id"] for s in own] == [earlier.pk]


def test_hostile_suggest_queries_answer(make_contact, api_as) -> None:
    client = api_as(make_contact())
    for query in ["", '"', "\x00", "a" * 20_000, "NEAR(x y)", "🙂" * 100]:
        answer = client.get("/suggest", q=query)
        assert answer.status_code == 200, query
        assert set(answer.json()) >= {"articles", "similar"}


def test_the_worker_indexes_new_tickets_and_the_sweep_catches_skipped_ones(make_ticket) -> None:
    """Filing writes nothing for the index; the worker's passes do, once per ticket."""
    first = make_ticket(subject="Card payment declined", body="Why was my payment declined?")
    second = make_ticket(subject="Top up failed", body="My top up did not go through.")
    assert not Question.objects.exists()
    assert do_index_new_tickets() == 2
    assert do_index_new_tickets() == 0
    # A ticket the forward pass skipped (a lower id committed late): the sweep finds it.
    Question.objects.filter(source_id=first.pk).delete()
    assert do_index_new_tickets() == 0
    assert do_record_unindexed_tickets() == 1
    assert do_record_unindexed_tickets() == 0
    assert set(Question.objects.values_list("source_id", flat=True)) == {first.pk, second.pk}
