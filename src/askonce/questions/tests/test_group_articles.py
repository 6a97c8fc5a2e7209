"""Which article answered a repeat group: the one most of its askings were answered with."""

import pytest

from askonce.questions import queries
from askonce.questions.models import Question


def _asking(number: int, *, root: Question | None = None, slug: str = "") -> Question:
    return Question.objects.create(
        source_type="ticket",
        source_id=number,
        text=f"asking {number}",
        repeat_of=root,
        article_slug=slug,
    )


@pytest.mark.django_db
def test_the_article_most_askings_were_answered_with_comes_first() -> None:
    root = _asking(1, slug="purge-by-key")
    _asking(2, root=root, slug="cache-basics")
    _asking(3, root=root, slug="purge-by-key")
    _asking(4, root=root)  # unanswered: counts for nothing
    _asking(5, root=root, slug="cache-basics")
    _asking(6, root=root, slug="cache-basics")
    _asking(7, root=root, slug="shielding")
    other = _asking(8, slug="not-this-group")
    _asking(9, root=other, slug="not-this-group")
    assert queries._group_articles(root.pk) == ["cache-basics", "purge-by-key", "shielding"]


@pytest.mark.django_db
def test_a_tie_goes_to_the_article_answered_most_recently() -> None:
    root = _asking(1)
    _asking(2, root=root, slug="older")
    _asking(3, root=root, slug="newer")
    assert queries._group_articles(root.pk) == ["newer", "older"]
    assert queries._group_articles(_asking(4).pk) == []


@pytest.mark.django_db
def test_only_the_latest_askings_of_a_big_group_are_read(monkeypatch) -> None:
    monkeypatch.setattr(queries, "LATEST_ASKINGS", 3)
    root = _asking(1)
    for number in range(2, 6):
        _asking(number, root=root, slug="old-answer")  # four, but only one among the latest 3
    _asking(6, root=root, slug="new-answer")
    _asking(7, root=root, slug="new-answer")
    assert queries._group_articles(root.pk) == ["new-answer", "old-answer"]
