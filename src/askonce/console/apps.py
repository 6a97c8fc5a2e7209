from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "askonce.console"
    label = "console"
    verbose_name = "Agent console and customer portal"
