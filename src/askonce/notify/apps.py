from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "askonce.notify"
    label = "notify"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from askonce.core.periodic import register_periodic
        from askonce.notify.webhooks import do_retry_due_webhooks

        register_periodic("notify.retry_webhooks", do_retry_due_webhooks, every_seconds=10)
