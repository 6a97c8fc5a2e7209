"""Articles that answer a question by meaning, offered by higher domains.

The question index (askonce.questions) knows which article answered earlier askings of a
question; the help center's ask box lives here, below it. The question index registers a
provider in its `apps.py` (as subscribers do for events), so no import runs upward.
"""

from collections.abc import Callable

from askonce.accounts.models import User

AnswerProvider = Callable[[User | None, str], list[str]]  # article slugs, best first
_providers: list[AnswerProvider] = []


def register_answer_provider(provider: AnswerProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def answering_slugs(user: User | None, text: str) -> list[str]:
    slugs: list[str] = []
    for provider in _providers:
        for slug in provider(user, text):
            if slug not in slugs:
                slugs.append(slug)
    return slugs
