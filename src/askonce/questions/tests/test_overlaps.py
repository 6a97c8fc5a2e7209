"""Overlaps: two published articles that say the same thing, or answer the same questions, are
flagged once to both owners, who merge them or keep both."""

import pytest

from askonce.kb.actions import (
    ArticleChanges,
    do_create_article,
    do_create_category,
    do_update_article,
)
from askonce.kb.models import Article
from askonce.kb.queries import Owner
from askonce.questions.actions import do_index_new_tickets
from askonce.questions.index import forget_question_index
from askonce.questions.models import Overlap, Question
from askonce.search.embeddings import encoder
from askonce.tickets.actions import do_claim_ticket, do_post_message, do_solve_ticket

pytestmark = pytest.mark.django_db

RATE_LIMITS = """The API allows 1,000 requests per hour per token. Every response says where you
stand: `RateLimit-Limit` is the requests allowed per hour, `RateLimit-Remaining` the requests
left in this hour, `RateLimit-Reset` the seconds until the count resets.

Over the limit you get `429 Too Many Requests`; wait for `Retry-After` seconds. Purges do not
count against the limit."""

# The same answer, written again by someone else in other words.
TOO_MANY_REQUESTS = """Each API token may make up to 1000 calls an hour. When you go over, the
API answers 429 Too Many Requests with a Retry-After header telling you how long to wait.

Check the RateLimit-Remaining header to see how many calls you have left; RateLimit-Reset says
when the counter starts again. Purge requests are not counted."""

SURROGATE_KEYS = """Tag responses with a `Surrogate-Key` header, then purge every object that
carries a key with one API call: `POST /service/{id}/purge/{key}`. Soft purges mark objects
stale instead of removing them, so the origin is not flooded."""


@pytest.fixture(autouse=True)
def _fresh_index():
    if encoder() is None:
        pytest.skip("the embedding model is not installed")
    forget_question_index()
    yield
    forget_question_index()


@pytest.fixture
def owners(make_staff):
    """Two writers in different teams, each owning a category."""
    first = make_staff("engineering", name="Erin Engineer")
    second = make_staff("support", name="Sid Support")
    do_create_category(slug="api", name="API", owner=Owner(user=first))
    do_create_category(slug="help", name="Help", owner=Owner(user=second))
    return first, second


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """Publish an article as its owner; after commit the worker's overlap check runs."""

    def make(title, body, *, owner, category, slug=""):
        with django_capture_on_commit_callbacks(execute=True):
            return do_create_article(
                actor=owner,
                title=title,
                body=body,
                category=category,
                owner=Owner(user=owner),
                slug=slug,
                publish=True,
            )

    return make


def _category(slug):
    from askonce.kb.models import Category

    return Category.objects.get(slug=slug)


def test_an_article_duplicating_another_answer_is_flagged_to_both_owners(
    owners, publish, api_as, mailbox
) -> None:
    erin, sid = owners
    original = publish(
        "API rate limits and 429 responses", RATE_LIMITS, owner=erin, category=_category("api")
    )
    publish("Purge by surrogate key", SURROGATE_KEYS, owner=erin, category=_category("api"))
    assert Overlap.objects.count() == 0  # neighbouring topics are not duplicates
    mailbox.messages.clear()

    duplicate = publish(
        "Why am I getting HTTP 429 from the API?",
        TOO_MANY_REQUESTS,
        owner=sid,
        category=_category("help"),
    )

    found = api_as(sid).get("/overlaps").json()
    assert len(found) == 1, found
    overlap = found[0]
    assert {a["slug"] for a in overlap["articles"]} == {original.slug, duplicate.slug}
    assert {a["owner"] for a in overlap["articles"]} == {erin.email, sid.email}
    assert overlap["reason"] == "near_duplicate"
    assert overlap["similarity"] >= 0.78
    assert overlap["status"] == "open"
    flagged = [m for m in mailbox.messages if "overlap" in m["Subject"].lower()]
    assert len(flagged) == 1, "one mail to both owners"
    assert set(flagged[0]["X-Envelope-To"].split(", ")) == {erin.email, sid.email}
    assert f"#overlap-{overlap['id']}" in flagged[0].get_payload(decode=True).decode()
    # Only the owners' own list when asked for "mine".
    assert len(api_as(erin).get("/overlaps", mine="true").json()) == 1


def test_a_flag_is_raised_once_and_not_again_after_keep(
    owners, publish, api_as, django_capture_on_commit_callbacks
) -> None:
    erin, sid = owners
    publish("API rate limits", RATE_LIMITS, owner=erin, category=_category("api"))
    duplicate = publish(
        "HTTP 429 from the API", TOO_MANY_REQUESTS, owner=sid, category=_category("help")
    )
    overlap = Overlap.objects.get()

    decided = api_as(sid).post(f"/overlaps/{overlap.pk}/decision", {"decision": "keep"})
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "kept"
    assert decided.json()["decided_by"] == sid.email

    # Editing the article again compares it again, but a decided pair stays decided.
    with django_capture_on_commit_callbacks(execute=True):
        do_update_article(
            article=duplicate,
            actor=sid,
            changes=ArticleChanges(body=TOO_MANY_REQUESTS + "\n\nSee also the API reference."),
        )
    assert Overlap.objects.count() == 1
    assert api_as(sid).get("/overlaps").json() == []
    again = api_as(sid).post(f"/overlaps/{overlap.pk}/decision", {"decision": "keep"})
    assert again.status_code == 409
    assert "kept" in again.json()["detail"]


def test_merging_archives_one_and_sends_its_readers_and_questions_to_the_other(
    owners, publish, api_as, client
) -> None:
    erin, sid = owners
    kept = publish("API rate limits", RATE_LIMITS, owner=erin, category=_category("api"))
    merged = publish(
        "HTTP 429 from the API", TOO_MANY_REQUESTS, owner=sid, category=_category("help")
    )
    answered = Question.objects.create(
        source_type="ticket", source_id=99, text="429?", article_slug=merged.slug
    )
    overlap = Overlap.objects.get()

    wrong = api_as(sid).post(
        f"/overlaps/{overlap.pk}/decision", {"decision": "merge", "keep": "no-such-article"}
    )
    assert wrong.status_code == 422
    assert kept.slug in wrong.json()["detail"]
    unknown = api_as(sid).post(f"/overlaps/{overlap.pk}/decision", {"decision": "delete"})
    assert unknown.status_code == 422

    decided = api_as(sid).post(
        f"/overlaps/{overlap.pk}/decision",
        {"decision": "merge", "keep": kept.slug, "note": "one answer"},
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "merged"
    assert decided.json()["kept"] == kept.slug

    merged.refresh_from_db()
    assert merged.status == "archived"
    assert merged.superseded_by_id == kept.pk
    answered.refresh_from_db()
    assert answered.article_slug == kept.slug
    # Old links keep working: readers are sent to the article that answers now.
    old_link = client.get(f"/help/articles/{merged.slug}/")
    assert old_link.status_code == 301
    assert old_link["Location"] == f"/help/articles/{kept.slug}/"


def test_only_owners_and_admins_decide_and_only_staff_see(
    owners, publish, api_as, make_staff, make_contact
) -> None:
    erin, sid = owners
    publish("API rate limits", RATE_LIMITS, owner=erin, category=_category("api"))
    publish("HTTP 429 from the API", TOO_MANY_REQUESTS, owner=sid, category=_category("help"))
    overlap = Overlap.objects.get()

    bystander = api_as(make_staff("finance"))
    assert len(bystander.get("/overlaps").json()) == 1  # staff may look
    refused = bystander.post(f"/overlaps/{overlap.pk}/decision", {"decision": "keep"})
    assert refused.status_code == 403
    customer = api_as(make_contact())
    assert customer.get("/overlaps").status_code == 403
    assert customer.post(f"/overlaps/{overlap.pk}/decision", {"decision": "keep"}).status_code in (
        403,
        404,
    )
    assert api_as(erin).get("/overlaps/999999").status_code == 404
    assert Overlap.objects.get().status == "open"


def _solve_linked(ticket, agent, article, capture) -> None:
    do_claim_ticket(ticket=ticket, actor=agent)
    do_post_message(ticket=ticket, author=agent, body=f"See /help/articles/{article.slug}/")
    with capture(execute=True):
        do_solve_ticket(
            ticket=ticket,
            actor=agent,
            resolution="answered",
            decision="linked",
            article=article.slug,
        )


def test_articles_answering_askings_of_one_question_are_flagged(
    owners, publish, make_ticket, make_contact, api_as, django_capture_on_commit_callbacks
) -> None:
    erin, sid = owners
    # Two articles that do not read alike, but agents answered the same question with both.
    tokens = publish(
        "Create and rotate API tokens",
        "Create a token under Account → API tokens; rotate it every 90 days.",
        owner=erin,
        category=_category("api"),
    )
    limits = publish("API rate limits", RATE_LIMITS, owner=sid, category=_category("help"))
    assert Overlap.objects.count() == 0

    first = make_ticket(make_contact(), subject="API says 429", body="Why does the API answer 429?")
    second = make_ticket(
        make_contact(), subject="Getting 429 from your API", body="The API returns 429 errors."
    )
    do_index_new_tickets()
    assert Question.objects.get(source_id=second.pk).repeat_of_id is not None

    _solve_linked(first, sid, limits, django_capture_on_commit_callbacks)
    assert Overlap.objects.count() == 0  # one article per question so far
    _solve_linked(second, sid, tokens, django_capture_on_commit_callbacks)

    found = api_as(erin).get("/overlaps").json()
    assert len(found) == 1, found
    assert found[0]["reason"] == "same_questions"
    assert found[0]["shared_questions"] == 1


def test_the_overlap_page_decides_with_one_click(owners, publish, client) -> None:
    erin, sid = owners
    kept = publish("API rate limits", RATE_LIMITS, owner=erin, category=_category("api"))
    merged = publish(
        "HTTP 429 from the API", TOO_MANY_REQUESTS, owner=sid, category=_category("help")
    )
    overlap = Overlap.objects.get()
    client.force_login(erin)
    page = client.get("/console/kb/overlaps/").content.decode()
    assert f'id="overlap-{overlap.pk}"' in page
    assert "HTTP 429 from the API" in page and "API rate limits" in page
    assert f'value="merge:{kept.slug}"' in page

    done = client.post(
        f"/console/kb/overlaps/{overlap.pk}/decide", {"choice": f"merge:{kept.slug}"}, follow=True
    )
    assert "Merged" in done.content.decode()
    assert Article.objects.get(pk=merged.pk).status == "archived"
    again = client.post(
        f"/console/kb/overlaps/{overlap.pk}/decide", {"choice": "keep"}, follow=True
    )
    assert "merged" in again.content.decode().lower()
    assert Overlap.objects.get().status == "merged"
