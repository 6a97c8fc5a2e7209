"""A task committed in one process wakes the sleeping worker at once, not at its next poll."""

import socket
import time

import pytest
from django.db import transaction
from django.tasks import task

from askonce.core.wakeup import Alarm, wake_folder, wake_workers

pytestmark = pytest.mark.django_db


@task()
def nothing_much() -> str:
    return "done"


@pytest.fixture
def alarm(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    listening = Alarm()
    yield listening
    listening.close()


def test_a_committed_task_wakes_the_worker_and_an_uncommitted_one_does_not(
    alarm, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            nothing_much.enqueue()
            assert alarm.wait(0) is False, "not before the commit: the task is not visible yet"
    assert len(callbacks) == 1
    started = time.monotonic()
    assert alarm.wait(5) is True
    assert time.monotonic() - started < 0.5
    assert alarm.wait(0.05) is False, "one nudge, one wake"


def test_nudges_sent_while_the_worker_is_busy_wake_it_at_once_afterwards(alarm) -> None:
    for _ in range(3):
        wake_workers()
    assert alarm.wait(0) is True
    assert alarm.wait(0) is False, "the queued nudges were drained together"


def test_a_dead_workers_socket_is_cleaned_up_and_a_missing_folder_is_fine(
    alarm, settings, tmp_path
) -> None:
    stale = wake_folder() / "999999999.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as gone:
        gone.bind(str(stale))
    wake_workers()
    assert not stale.exists()
    assert alarm.wait(0) is True
    settings.DATA_DIR = tmp_path / "never-served"
    wake_workers()  # no folder: nothing to do, no error
