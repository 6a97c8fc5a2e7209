from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "askonce.mail"
    label = "mail"
    verbose_name = "Mail intake"

    def ready(self) -> None:
        from askonce.mail import imap

        imap.register()
