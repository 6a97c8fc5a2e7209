from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "askonce.accounts"
    label = "accounts"
    verbose_name = "People and organizations"
