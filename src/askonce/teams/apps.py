from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "askonce.teams"
    label = "teams"
    verbose_name = "Teams"
