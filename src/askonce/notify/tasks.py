"""Background delivery of queued mail, run by the worker."""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import task
from django.utils import timezone

from askonce.notify.models import OutboundMail

logger = logging.getLogger(__name__)

# A relay that is down or refusing for a while must not lose mail: retry with growing delays.
RETRY_DELAYS_MINUTES = [1, 5, 15, 60, 240]


@task()
def send_outbound_mail(outbound_id: int) -> str:
    """Send one recorded mail; a transient failure schedules a retry, a sent mail is not resent."""
    return _send(outbound_id)


@task()
def send_outbound_mails(mails: list[int | str]) -> str:
    """Send mails queued together (one task for a batch of mail intake, see notify.actions),
    named by id or by Message-ID.

    Each mail goes on its own: one that fails schedules its own retry (as `send_outbound_mail`)
    and the rest are still sent. Mails whose rows are gone (their savepoint was rolled back) are
    skipped.
    """
    named = [mail for mail in mails if isinstance(mail, str)]
    by_message_id = dict(
        OutboundMail.objects.filter(message_id__in=named).values_list("message_id", "pk")
    )
    outbound_ids = [by_message_id.get(mail) if isinstance(mail, str) else mail for mail in mails]
    outcomes: dict[str, int] = {}
    for outbound_id in outbound_ids:
        if outbound_id is None:
            outcomes["nothing to do"] = outcomes.get("nothing to do", 0) + 1
            continue
        try:
            outcome = _send(outbound_id)
        except Exception:  # a bug in one mail must not keep the others from going out
            logger.exception("sending mail #%s failed; it is retried alone", outbound_id)
            send_outbound_mail.using(
                run_after=timezone.now() + timedelta(minutes=RETRY_DELAYS_MINUTES[0])
            ).enqueue(outbound_id)
            outcome = "retrying"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))


def _send(outbound_id: int) -> str:
    outbound = OutboundMail.objects.filter(pk=outbound_id).first()
    if outbound is None or outbound.status == OutboundMail.Status.SENT:
        return "nothing to do"
    headers = {"Message-ID": f"<{outbound.message_id}>"}
    if outbound.thread:
        root = f"<{outbound.thread}@{settings.MAIL_DOMAIN}>"
        headers.update({"In-Reply-To": root, "References": root})
    if outbound.kind in {"acknowledgement", "explanation"}:
        headers["Auto-Submitted"] = "auto-replied"
    elif outbound.kind == "page":
        # An on-call person's out-of-office answer must not come back to support@.
        headers["Auto-Submitted"] = "auto-generated"
    message = EmailMessage(
        subject=outbound.subject,
        body=outbound.body,
        from_email=outbound.from_email or settings.DEFAULT_FROM_EMAIL,
        to=outbound.recipients.split(", "),
        reply_to=[outbound.reply_to] if outbound.reply_to else None,
        headers=headers,
    )
    outbound.attempts += 1
    try:
        message.send(fail_silently=False)
    except (OSError, smtplib.SMTPException) as error:
        outbound.error = f"{error.__class__.__name__}: {error}"[:2000]
        if outbound.attempts > len(RETRY_DELAYS_MINUTES):
            outbound.status = OutboundMail.Status.FAILED
            outbound.save(update_fields=["attempts", "error", "status"])
            logger.error("giving up on mail <%s>: %s", outbound.message_id, error)
            return "failed"
        delay = RETRY_DELAYS_MINUTES[outbound.attempts - 1]
        outbound.save(update_fields=["attempts", "error"])
        logger.warning(
            "mail <%s> not sent (%s); retry in %d min", outbound.message_id, error, delay
        )
        send_outbound_mail.using(run_after=timezone.now() + timedelta(minutes=delay)).enqueue(
            outbound.pk
        )
        return "retrying"
    outbound.status = OutboundMail.Status.SENT
    outbound.sent_at = timezone.now()
    outbound.error = ""
    outbound.save(update_fields=["attempts", "status", "sent_at", "error"])
    return "sent"
