"""Knowledge-base factories: make_category, make_article."""

import itertools
from collections.abc import Callable

import pytest

from askonce.accounts.models import User
from askonce.kb.actions import do_create_article, do_create_category
from askonce.kb.models import Article, Category
from askonce.kb.queries import Owner

_numbers = itertools.count(1)


@pytest.fixture
def make_category(db: None) -> Callable[..., Category]:
    def make(
        slug: str | None = None, *, owner: User | None = None, review_interval_days: int = 180
    ) -> Category:
        slug = slug or f"category-{next(_numbers)}"
        return do_create_category(
            slug=slug,
            name=slug.replace("-", " ").title(),
            owner=Owner(user=owner),
            review_interval_days=review_interval_days,
        )

    return make


@pytest.fixture
def make_article(
    db: None, make_category: Callable[..., Category], make_staff: Callable[..., User]
) -> Callable[..., Article]:
    def make(
        title: str | None = None,
        *,
        body: str = "Some text.",
        category: Category | None = None,
        owner: User | None = None,
        publish: bool = True,
        internal: bool = False,
        slug: str = "",
    ) -> Article:
        owner = owner or make_staff("support")
        return do_create_article(
            actor=owner,
            title=title or f"Article {next(_numbers)}",
            body=body,
            category=category or make_category(),
            owner=Owner(user=owner),
            publish=publish,
            internal=internal,
            slug=slug,
        )

    return make
