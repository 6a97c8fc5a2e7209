"""Ask once, end to end: a question asked twice opens a gap; later askings join it; the
article written from it answers every asking, and the next customer gets it suggested."""

import pytest

from askonce.kb.actions import do_create_category, do_publish_article
from askonce.kb.models import Article
from askonce.kb.queries import Owner
from askonce.questions.actions import do_index_new_tickets
from askonce.questions.index import forget_question_index
from askonce.questions.models import Gap, Question
from askonce.search.embeddings import encoder

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_index():
    if encoder() is None:
        pytest.skip("the embedding model is not installed")
    forget_question_index()
    yield
    forget_question_index()


@pytest.fixture
def ask(make_ticket, make_contact, make_organization, django_capture_on_commit_callbacks):
    """A contact of a new organization files a ticket; after-commit subscribers run."""

    def make(subject: str, body: str):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = make_ticket(make_contact(make_organization()), subject=subject, body=body)
        do_index_new_tickets()  # what the worker does every second or two
        return ticket

    return make


def test_a_question_asked_twice_opens_a_gap_that_publishing_closes(
    ask, make_staff, make_contact, api_as, client, django_capture_on_commit_callbacks
) -> None:
    writer = make_staff("support", name="Wren Writer")
    do_create_category(slug="cards", name="Cards", owner=Owner(user=writer))
    staff = api_as(writer)

    first = ask("My new card still has not arrived", "I ordered a card two weeks ago.")
    assert staff.get("/gaps").json() == []  # asked once: not a gap yet
    second = ask("Still waiting for my card", "When will the card I ordered be delivered?")

    gaps = staff.get("/gaps").json()
    assert len(gaps) == 1
    gap = gaps[0]
    assert gap["occurrences"] == 2
    assert gap["owner"] == writer.email
    assert gap["category"] == "cards"

    third = ask("Card not delivered yet", "Where is the card you sent me? It never arrived.")
    detail = staff.get(f"/gaps/{gap['id']}").json()
    assert [a["source_id"] for a in detail["askings"]] == [first.pk, second.pk, third.pk]
    assert Gap.objects.count() == 1

    written = staff.post(f"/gaps/{gap['id']}/article")
    assert written.status_code == 201, written.content
    article = Article.objects.get(slug=written.json()["article"])
    assert article.status == "draft"
    assert "My new card still has not arrived" in article.body
    with django_capture_on_commit_callbacks(execute=True):
        do_publish_article(article=article, actor=writer)

    assert staff.get(f"/gaps/{gap['id']}").json()["status"] == "closed"
    linked = Question.objects.filter(source_id__in=[first.pk, second.pk, third.pk])
    assert {q.article_slug for q in linked} == {article.slug}

    # A fourth customer, in other words: the article is suggested before they file.
    customer = api_as(make_contact())
    suggested = customer.get("/suggest", q="my card has still not come, when does it arrive?")
    assert suggested.json()["articles"][0]["slug"] == article.slug
    assert staff.get("/gaps").json() == []
    # And in the portal's ask box (the help center's suggestions), first too.
    client.force_login(customer.user)
    box = client.get("/help/suggest", {"q": "my card has still not come, when does it arrive?"})
    assert box.json()["articles"][0]["url"] == f"/help/articles/{article.slug}/"


def test_the_gap_queue_page(ask, make_staff, make_contact, client) -> None:
    do_create_category(slug="cards", name="Cards", owner=Owner(user=make_staff("support")))
    ask("My new card still has not arrived", "I ordered a card two weeks ago.")
    ask("Still waiting for my card", "When will the card I ordered be delivered?")
    client.force_login(make_staff("support"))
    page = client.get("/console/kb/gaps/").content.decode()
    assert "My new card still has not arrived" in page
    assert "2\u00d7" in page  # asked twice
    gap = Gap.objects.get()
    answer = client.post(f"/console/kb/gaps/{gap.pk}/write")
    assert answer.status_code == 302
    assert answer["Location"].endswith("/edit")
    client.force_login(make_contact())
    assert client.get("/console/kb/gaps/").status_code == 403


def test_gaps_are_for_staff(make_contact, api_as) -> None:
    assert api_as(make_contact()).get("/gaps").status_code == 403
