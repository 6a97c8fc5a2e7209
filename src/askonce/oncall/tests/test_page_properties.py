"""Property test of the page state machine against a model: any order of triggers,
acknowledgements, resolutions and worker runs keeps one open page per dedup key, follows the
transition table, and never escalates a page someone has answered."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from askonce.core.errors import InvalidTransition
from askonce.oncall.escalation import run_due_timers
from askonce.oncall.models import OPEN_PAGE_STATES, EscalationTimer, Page
from askonce.oncall.paging import do_acknowledge_page, do_resolve_page, do_trigger_page
from askonce.oncall.transitions import can

pytestmark = pytest.mark.django_db

ACTIONS = st.lists(
    st.tuples(st.sampled_from(["trigger", "acknowledge", "resolve", "run"]), st.sampled_from("ab")),
    max_size=8,
)


class _Rollback(Exception):
    pass


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS)
def test_pages_follow_the_model(support, actions) -> None:
    try:
        with transaction.atomic():
            _play(support.policy, actions)
            raise _Rollback
    except _Rollback:
        pass


def _play(policy, actions) -> None:
    open_pages: dict[str, tuple[int, str, int]] = {}  # key -> (page id, status, triggers)
    for action, key in actions:
        current = open_pages.get(key)
        if action == "trigger":
            page = do_trigger_page(
                policy=policy, summary=f"Alert {key}", actor=None, dedup_key=key
            ).page
            if current is None:
                open_pages[key] = (page.pk, "triggered", 1)
            else:
                assert page.pk == current[0], "a repeat folds into the open page"
                open_pages[key] = (current[0], current[1], current[2] + 1)
        elif action == "run":
            EscalationTimer.objects.filter(status="pending").update(
                due_at=timezone.now() - timedelta(minutes=1)
            )
            run_due_timers()
        elif current is not None:
            page = Page.objects.get(pk=current[0])
            change = do_acknowledge_page if action == "acknowledge" else do_resolve_page
            if can(action, current[1]):
                change(page=page, actor=None)
                status = "acknowledged" if action == "acknowledge" else "resolved"
                if status == "resolved":
                    del open_pages[key]
                else:
                    open_pages[key] = (current[0], status, current[2])
            else:
                with pytest.raises(InvalidTransition, match=f"it is '{current[1]}'"):
                    change(page=page, actor=None)
        _check(open_pages)


def _check(open_pages: dict[str, tuple[int, str, int]]) -> None:
    in_database = {
        page.dedup_key: (page.pk, page.status, page.trigger_count)
        for page in Page.objects.filter(status__in=OPEN_PAGE_STATES)
    }
    assert in_database == open_pages
    answered = EscalationTimer.objects.filter(status="pending").exclude(page__status="triggered")
    assert not answered.exists(), "an answered page has no step waiting"
