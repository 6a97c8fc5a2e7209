"""Articles through /api/v1: owners, publishing, revisions, permissions, votes, staleness."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.utils import timezone

from askonce.accounts.actions import do_create_user
from askonce.accounts.models import User
from askonce.kb.markdown import render_markdown
from askonce.kb.models import Article
from askonce.kb.queries import stale_articles_for

pytestmark = pytest.mark.django_db


def test_an_unowned_article_cannot_be_published(make_staff, make_category, api_as) -> None:
    """A writer without an owner gets a draft, and publishing it says an owner is needed."""
    writer = api_as(make_staff("support"))
    category = make_category()
    created = writer.post(
        "/articles",
        {"title": "Purging a URL", "body": "# Purge\n\nUse the API.", "category": category.slug},
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "draft"
    assert created.json()["owner"] is None

    answer = writer.put("/articles/purging-a-url", {"status": "published"})
    assert answer.status_code == 422
    assert "no owner" in answer.json()["detail"]
    assert Article.objects.get(slug="purging-a-url").status == "draft"

    answer = writer.put(
        "/articles/purging-a-url", {"owner": writer.user.email, "status": "published"}
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "published"
    assert body["owner"] == writer.user.email
    assert body["review_due_at"] is not None
    assert '<h1 id="purge">' in body["body_html"]


def test_create_names_unknown_category_and_owner(make_staff, make_category, api_as) -> None:
    writer = api_as(make_staff("support"))
    make_category("caching")
    answer = writer.post("/articles", {"title": "X", "category": "nope"})
    assert answer.status_code == 422
    assert "Unknown category 'nope'" in answer.json()["detail"]
    assert "caching" in answer.json()["detail"]
    answer = writer.post("/articles", {"title": "X", "category": "caching", "owner": "team:nope"})
    assert answer.status_code == 422
    assert "team:nope" in answer.json()["detail"]
    assert not Article.objects.exists()


def test_only_owner_their_team_or_admin_edit(make_staff, make_article, make_team, api_as) -> None:
    owner = make_staff("support")
    article = make_article("Rate limits", owner=owner)
    stranger = api_as(make_staff("finance"))
    answer = stranger.put(f"/articles/{article.slug}", {"body": "vandalized"})
    assert answer.status_code == 403
    assert owner.email in answer.json()["detail"]

    assert api_as(owner).put(f"/articles/{article.slug}", {"body": "v2"}).status_code == 200

    # A team owner: any member edits.
    ops_member = make_staff("ops")
    assert api_as(owner).put(f"/articles/{article.slug}", {"owner": "team:ops"}).status_code == 200
    assert api_as(ops_member).put(f"/articles/{article.slug}", {"body": "v3"}).status_code == 200
    assert api_as(owner).put(f"/articles/{article.slug}", {"body": "v4"}).status_code == 403

    admin = do_create_user(email="root@example.com", password="pw-admin-123", kind=User.Kind.STAFF)
    admin.is_superuser = True
    admin.save()
    assert api_as(admin).put(f"/articles/{article.slug}", {"body": "v5"}).status_code == 200
    assert Article.objects.get(pk=article.pk).body == "v5"


def test_customers_read_published_public_articles_only(make_contact, make_article, api_as) -> None:
    public = make_article("Public answer")
    internal = make_article("Runbook", internal=True)
    draft = make_article("Not yet", publish=False)
    customer = api_as(make_contact())

    assert customer.get(f"/articles/{public.slug}").status_code == 200
    for hidden in (internal, draft):
        answer = customer.get(f"/articles/{hidden.slug}")
        assert answer.status_code == 404
    listed = [item["slug"] for item in customer.get("/articles").json()["items"]]
    assert listed == [public.slug]
    assert customer.post("/articles", {"title": "x", "category": "y"}).status_code == 403
    assert customer.put(f"/articles/{public.slug}", {"body": "x"}).status_code == 403
    assert customer.get(f"/articles/{public.slug}/revisions").status_code == 403


def test_revisions_diff_and_restore(make_staff, make_article, api_as) -> None:
    owner = make_staff("support")
    article = make_article("Cache keys", body="Line one\nLine two", owner=owner)
    client = api_as(owner)
    client.put(f"/articles/{article.slug}", {"body": "Line one\nLine 2\nLine three", "note": "fix"})

    revisions = client.get(f"/articles/{article.slug}/revisions").json()
    assert [r["number"] for r in revisions] == [2, 1]
    assert revisions[0]["author"] == owner.email
    assert revisions[0]["note"] == "fix"

    diff = client.get(f"/articles/{article.slug}/diff", **{"from": 1, "to": 2}).json()
    assert {"kind": "remove", "text": "-Line two"} in diff
    assert {"kind": "add", "text": "+Line three"} in diff

    restored = client.post(f"/articles/{article.slug}/revisions/1/restore").json()
    assert restored["revision"] == 3
    assert restored["body"] == "Line one\nLine two"
    # Saving the same text again makes no new revision.
    client.put(f"/articles/{article.slug}", {"body": "Line one\nLine two"})
    assert client.get(f"/articles/{article.slug}").json()["revision"] == 3


def test_one_vote_per_reader(make_contact, make_article, api_as) -> None:
    article = make_article()
    reader = api_as(make_contact())
    reader.post(f"/articles/{article.slug}/votes", {"helpful": False, "comment": "too short"})
    answer = reader.post(f"/articles/{article.slug}/votes", {"helpful": True})
    assert answer.json() == {"helpful": 1, "not_helpful": 0}
    other = api_as(make_contact())
    answer = other.post(f"/articles/{article.slug}/votes", {"helpful": False})
    assert answer.json() == {"helpful": 1, "not_helpful": 1}


def test_an_article_past_its_review_interval_is_stale_for_its_owner(
    make_staff, make_category, make_article, api_as
) -> None:
    owner = make_staff("support")
    category = make_category(review_interval_days=30)
    fresh = make_article("Fresh", owner=owner, category=category)
    with time_machine.travel(timezone.now() - timedelta(days=40)):
        old = make_article("Old", owner=owner, category=category)
    assert [a.slug for a in stale_articles_for(owner)] == [old.slug]
    assert stale_articles_for(make_staff("support")) == []

    client = api_as(owner)
    assert [a["slug"] for a in client.get("/articles", stale=True).json()["items"]] == [old.slug]
    client.post(f"/articles/{old.slug}/reviewed")
    assert stale_articles_for(owner) == []
    assert fresh.slug not in [a.slug for a in stale_articles_for(owner)]


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        '<a href="JaVaScRiPt:alert(1)">y</a>',
        "<img src=x onerror=alert(1)>",
        '<div onmouseover="alert(1)">hover</div>',
        "<iframe src=https://evil.example></iframe>",
        '<a href="data:text/html,<script>alert(1)</script>">d</a>',
        "``` unclosed fence\n<script>x</script>",
        "[unclosed](",
        "<style>body{display:none}</style>",
    ],
)
def test_hostile_markdown_renders_harmless(markdown: str) -> None:
    """Parsed as a browser would: no dangerous element, no handler, no script URL survives."""
    found = _Elements()
    found.feed(render_markdown(markdown))
    assert not found.tags & {"script", "style", "iframe", "object", "embed", "div"}, found.tags
    for tag, name, value in found.attributes:
        assert not name.startswith("on"), (tag, name)
        if name in ("href", "src"):
            assert value.startswith(("http://", "https://", "mailto:", "#")) or (
                ":" not in value
            ), (tag, value)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(tag, name, (value or "").strip().lower()) for name, value in attrs]


def test_broken_and_huge_markdown_never_raises() -> None:
    assert render_markdown("") == ""
    assert "<table>" not in render_markdown("| a |\n|")
    render_markdown("*" * 50_000 + "[" * 10_000)


def test_related_articles_are_set_by_slug(make_staff, make_article, make_contact, api_as) -> None:
    owner = make_staff("support")
    article = make_article("Purge", owner=owner)
    other = make_article("Surrogate keys")
    hidden = make_article("Runbook", internal=True)
    client = api_as(owner)
    answer = client.put(f"/articles/{article.slug}", {"related": [other.slug, "nope"]})
    assert answer.status_code == 422
    assert "'nope'" in answer.json()["detail"]
    assert not article.related.exists()

    answer = client.put(f"/articles/{article.slug}", {"related": [other.slug, hidden.slug]})
    assert sorted(answer.json()["related"]) == sorted([other.slug, hidden.slug])
    # Related links are symmetric, and customers never see internal ones.
    assert api_as(owner).get(f"/articles/{other.slug}").json()["related"] == [article.slug]
    customer = api_as(make_contact())
    assert customer.get(f"/articles/{article.slug}").json()["related"] == [other.slug]
