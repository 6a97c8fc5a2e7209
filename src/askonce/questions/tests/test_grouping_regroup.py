"""The worker's hourly regrouping (consolidation.py): open questions grouped anew, gaps of the
same question merged, settled groups left alone. Hand-made embeddings stored as the index
stores them, so no model is needed."""

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from askonce.core.models import Event
from askonce.questions.consolidation import do_regroup_open_questions
from askonce.questions.gaps import do_consider_gap, occurrences
from askonce.questions.models import Gap, GapStatus, Question
from askonce.search.embeddings import EMBEDDING_DIMENSIONS, MODEL_NAME

pytestmark = pytest.mark.django_db

_sources = itertools.count(1)
_start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _direction(axis: int, wobble: float = 0.0, seed: int = 0) -> np.ndarray:
    vector = np.zeros(EMBEDDING_DIMENSIONS, dtype=np.float32)
    vector[axis] = 1.0
    vector[100 + seed] = wobble
    return vector / np.linalg.norm(vector)


def _ask(text: str, vector: np.ndarray, *, repeat_of: Question | None = None) -> Question:
    number = next(_sources)
    return Question.objects.create(
        source_type="ticket",
        source_id=number,
        text=text,
        asked_at=_start + timedelta(minutes=number),
        repeat_of=repeat_of,
        embedding=vector.astype(np.float32).tobytes(),
        embedding_model=MODEL_NAME,
    )


def _gap(root: Question) -> Gap:
    return Gap.objects.create(root=root, title=root.text)


def test_two_gaps_that_are_the_same_question_become_one() -> None:
    """The gap queue shows one gap with all four askings instead of two with two each."""
    first = _ask("Card not arrived", _direction(0, 0.3, 1))
    _ask("Where is my card", _direction(0, 0.3, 2), repeat_of=first)
    other = _ask("Still no card in the post", _direction(0, 0.3, 3))
    _ask("Card delivery is late", _direction(0, 0.3, 4), repeat_of=other)
    alone = _ask("How do I close my account", _direction(1))
    kept, merged = _gap(first), _gap(other)

    result = do_regroup_open_questions()

    assert (result.questions, result.moved, result.gaps_merged) == (5, 2, 1)
    assert occurrences(kept).count() == 4
    merged.refresh_from_db()
    assert merged.status == GapStatus.CLOSED and merged.article_slug == ""
    event = Event.objects.get(verb="gap.merged", subject_id=merged.pk)
    assert event.data == {"into": kept.pk}
    assert Question.objects.get(pk=alone.pk).repeat_of is None
    assert Event.objects.filter(verb="question.regrouped", subject_id=first.pk).exists()
    # Nothing new: nothing changes.
    assert do_regroup_open_questions().moved == 0

    # A process that loaded its groups before the regrouping links a new asking to the old
    # root: the asking is taken to the group's first asking and joins the surviving gap.
    late = _ask("Card never came", _direction(0, 0.3, 5), repeat_of=other)
    assert do_consider_gap(late) == kept
    assert Question.objects.get(pk=late.pk).repeat_of_id == first.pk


def test_a_repeat_linked_at_first_sight_that_is_another_question_is_split_off() -> None:
    """The gap that rested on one wrong link closes; asked twice again, it reopens."""
    first = _ask("Reset my password", _direction(2))
    wrong = _ask("Change my billing address", _direction(3), repeat_of=first)
    gap = _gap(first)

    result = do_regroup_open_questions()

    assert result.moved == 1
    assert Question.objects.get(pk=wrong.pk).repeat_of is None
    gap.refresh_from_db()
    assert gap.status == GapStatus.CLOSED
    assert Event.objects.get(verb="gap.merged", subject_id=gap.pk).data == {"into": None}

    again = _ask("Password reset please", _direction(2, 0.2, 6), repeat_of=first)
    assert do_consider_gap(again) == gap
    gap.refresh_from_db()
    assert gap.status == GapStatus.OPEN


def test_answered_groups_are_settled() -> None:
    """A group an article answers keeps its askings; a new question like it is not pulled in
    by the regrouping (the index gives it the article when it links it)."""
    answered = _ask("Export my invoices", _direction(4))
    Question.objects.filter(pk=answered.pk).update(article_slug="export-invoices")
    newcomer = _ask("How to export invoices", _direction(4, 0.2, 7))

    assert do_regroup_open_questions().moved == 0
    assert Question.objects.get(pk=newcomer.pk).repeat_of is None


def test_other_processes_reload_the_groups_after_a_regrouping(monkeypatch) -> None:
    """A web process loaded the groups before the worker regrouped: within a minute it sees the
    `question.regrouped` event and loads them again (here the minute is shortened to 0)."""
    from askonce.core.events import record_event
    from askonce.questions import index

    monkeypatch.setattr(index, "REGROUP_CHECK_SECONDS", 0.0)
    index.forget_question_index()
    first = _ask("Card not arrived", _direction(0, 0.3, 1))
    other = _ask("Still no card in the post", _direction(0, 0.3, 3))
    loaded = index.question_index()
    assert loaded.group_of(other.pk) == other.pk
    assert index.question_index() is loaded  # nothing happened: the same copy

    # What the worker's regrouping writes (in its own process, which reloads by itself).
    Question.objects.filter(pk=other.pk).update(repeat_of=first)
    record_event(verb="question.regrouped", subject_type="question", subject_id=first.pk)

    reloaded = index.question_index()
    assert reloaded is not loaded
    assert reloaded.group_of(other.pk) == first.pk
    index.forget_question_index()


def test_with_enough_history_questions_about_one_thing_are_grouped_together() -> None:
    """1,000 answered questions teach the regrouping which words go together; 200 open ones,
    worded and embedded too differently to pass the repeat threshold pairwise, then group by
    what they ask about (grouping.group_questions)."""
    from sklearn.metrics import normalized_mutual_info_score

    rng = np.random.default_rng(11)
    centres = rng.normal(size=(4, EMBEDDING_DIMENSIONS))
    vocabulary = [[f"product{topic}part{word}" for word in range(6)] for topic in range(4)]
    common = ["how", "do", "i", "fix", "the", "error", "in", "my", "account", "today"]

    def question(index: int, topic: int, answered: bool) -> Question:
        vector = centres[topic] + rng.normal(scale=1.2, size=EMBEDDING_DIMENSIONS)
        words = list(rng.choice(vocabulary[topic], size=2)) + list(rng.choice(common, size=4))
        return Question(
            source_type="ticket",
            source_id=100_000 + index,
            text=" ".join(rng.permutation(words)),
            asked_at=_start + timedelta(seconds=index),
            embedding=(vector / np.linalg.norm(vector)).astype(np.float32).tobytes(),
            embedding_model=MODEL_NAME,
            article_slug=f"topic-{topic}" if answered else "",
        )

    Question.objects.bulk_create(question(index, index % 4, True) for index in range(1000))
    Question.objects.bulk_create(question(index, index % 4, False) for index in range(1000, 1200))
    opened = list(
        Question.objects.filter(article_slug="").order_by("asked_at").values_list("pk", flat=True)
    )
    topic_of = {key: position % 4 for position, key in enumerate(opened)}

    result = do_regroup_open_questions()

    assert result.questions == 200
    roots = dict(Question.objects.filter(pk__in=opened).values_list("pk", "repeat_of_id"))
    groups = [roots[key] or key for key in opened]
    assert normalized_mutual_info_score([topic_of[key] for key in opened], groups) > 0.9
    assert len(set(groups)) < 50
    assert (
        Gap.objects.filter(status=GapStatus.OPEN).count() >= 4
    )  # each topic asked again and again
