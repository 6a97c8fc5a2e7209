"""Mail queued together is delivered by one task, each mail on its own."""

import pytest
from django.core.management import call_command
from django.db import transaction

from askonce.notify.actions import do_queue_email, mail_sent_together
from askonce.notify.models import OutboundMail


@pytest.mark.django_db(transaction=True)
def test_mail_queued_together_is_one_task_and_skips_what_was_rolled_back(settings, mailbox) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with transaction.atomic(), mail_sent_together():
        do_queue_email(recipients=["a@example.net"], subject="First", body="one")
        try:
            with transaction.atomic():
                do_queue_email(recipients=["b@example.net"], subject="Rolled back", body="two")
                raise RuntimeError("this message's savepoint fails")
        except RuntimeError:
            pass
        do_queue_email(recipients=["c@example.net"], subject="Third", body="three")

    tasks = DBTaskResult.objects.filter(task_path__contains="send_outbound_mail")
    assert tasks.count() == 1
    assert tasks.get().task_path.endswith("send_outbound_mails")
    assert OutboundMail.objects.count() == 2

    call_command("worker", "--once")
    assert sorted(message["Subject"] for message in mailbox.messages) == ["First", "Third"]
    assert set(OutboundMail.objects.values_list("status", flat=True)) == {"sent"}
    assert tasks.get().status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_nothing_is_enqueued_when_the_block_fails(settings) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with pytest.raises(RuntimeError), transaction.atomic(), mail_sent_together():
        do_queue_email(recipients=["a@example.net"], subject="Never", body="one")
        raise RuntimeError("the batch fails")
    assert not DBTaskResult.objects.exists()
    assert not OutboundMail.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_one_failing_mail_of_a_batch_is_retried_alone(settings, mailbox) -> None:
    """The relay refuses one recipient for now: the others are sent, that one gets a retry."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    mailbox.refused.add("busy@example.net")
    with transaction.atomic(), mail_sent_together():
        for name in ("a", "busy", "c"):
            do_queue_email(recipients=[f"{name}@example.net"], subject=f"To {name}", body=".")

    call_command("worker", "--once")
    assert sorted(message["Subject"] for message in mailbox.messages) == ["To a", "To c"]
    busy = OutboundMail.objects.get(subject="To busy")
    assert busy.status == "queued" and busy.attempts == 1 and "450" in busy.error
    retry = DBTaskResult.objects.filter(task_path__endswith="send_outbound_mail", status="READY")
    assert retry.count() == 1 and retry.get().args_kwargs["args"] == [busy.pk]


@pytest.mark.django_db(transaction=True)
def test_mail_of_an_all_or_nothing_batch_is_written_and_enqueued_with_the_batch(
    settings, mailbox
) -> None:
    """In a batch the mail rows are deferred; the task names them by Message-ID and is
    enqueued with them, and the worker finds and sends each."""
    from django_tasks_db.models import DBTaskResult

    from askonce.core.batch import all_or_nothing

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with transaction.atomic():
        with all_or_nothing(), mail_sent_together():
            for name in ("a", "b"):
                do_queue_email(recipients=[f"{name}@example.net"], subject=f"To {name}", body=".")
            assert not OutboundMail.objects.exists()  # written as the batch ends
            assert not DBTaskResult.objects.exists()
        assert OutboundMail.objects.count() == 2
    task = DBTaskResult.objects.get(task_path__endswith="send_outbound_mails")
    assert sorted(task.args_kwargs["args"][0]) == sorted(
        OutboundMail.objects.values_list("message_id", flat=True)
    )
    call_command("worker", "--once")
    assert sorted(message["Subject"] for message in mailbox.messages) == ["To a", "To b"]


@pytest.mark.django_db(transaction=True)
def test_the_prepared_task_row_is_the_one_the_backend_writes(settings, mailbox) -> None:
    """notify.actions writes the delivery task's row itself (a prepared INSERT): field for
    field what django_tasks_db's own enqueue writes, and the worker runs it."""
    from django_tasks_db.models import DBTaskResult

    from askonce.notify.tasks import send_outbound_mail

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with transaction.atomic():
        ours = do_queue_email(recipients=["ours@example.net"], subject="Ours", body=".")
    assert ours is not None
    theirs = send_outbound_mail.enqueue(ours.pk)  # the library's way, for the same mail
    rows = {
        row.pk: row for row in DBTaskResult.objects.filter(task_path__endswith="send_outbound_mail")
    }
    assert len(rows) == 2
    library = rows.pop(theirs.db_result.pk)
    prepared = next(iter(rows.values()))
    skipped = {"id", "enqueued_at"}
    for field in DBTaskResult._meta.concrete_fields:
        if field.name not in skipped:
            assert getattr(prepared, field.attname) == getattr(library, field.attname), field.name
    assert abs((prepared.enqueued_at - library.enqueued_at).total_seconds()) < 60
    call_command("worker", "--once")
    assert [message["Subject"] for message in mailbox.messages] == ["Ours"]
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
