"""Background delivery of notifications, run by the worker."""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import task
from django.utils import timezone

logger = logging.getLogger(__name__)

# A relay that is down or refusing for a while must not lose mail: retry with growing delays.
RETRY_DELAYS_MINUTES = [1, 5, 15, 60, 240]


@task()
def send_email(
    recipients: list[str],
    subject: str,
    body: str,
    headers: dict[str, str] | None = None,
    attempt: int = 0,
) -> int:
    """Send one plain-text mail through the configured backend; a transient failure retries."""
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers=headers or {},
    )
    try:
        sent = message.send(fail_silently=False)
    except (OSError, smtplib.SMTPException) as error:
        if attempt >= len(RETRY_DELAYS_MINUTES):
            logger.error("giving up on %r to %s: %s", subject, ", ".join(recipients), error)
            raise
        delay = RETRY_DELAYS_MINUTES[attempt]
        logger.warning("mail %r not sent (%s); retrying in %d min", subject, error, delay)
        send_email.using(run_after=timezone.now() + timedelta(minutes=delay)).enqueue(
            recipients, subject, body, headers or {}, attempt + 1
        )
        return 0
    logger.info("mailed %r to %s", subject, ", ".join(recipients))
    return sent
