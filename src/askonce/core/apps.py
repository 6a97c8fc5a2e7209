from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "askonce.core"
    label = "core"
    verbose_name = "Core"
