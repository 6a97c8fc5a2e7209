from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "askonce.tickets"
    label = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from askonce.core.periodic import register_periodic
        from askonce.tickets.tasks import close_solved_tickets, record_missed_responses

        register_periodic("tickets.record_missed_responses", record_missed_responses)
        register_periodic("tickets.close_solved_tickets", close_solved_tickets, every_seconds=3600)
