from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "askonce.oncall"
    label = "oncall"
    verbose_name = "On-call"
