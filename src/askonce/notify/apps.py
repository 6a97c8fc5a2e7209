from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "askonce.notify"
    label = "notify"
    verbose_name = "Notifications"
