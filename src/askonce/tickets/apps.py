from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "askonce.tickets"
    label = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from askonce.core.events import subscribe
        from askonce.core.periodic import register_periodic
        from askonce.tickets.tasks import (
            close_solved_tickets,
            link_documentation_for_event,
            record_missed_responses,
        )

        # The knowledge base records this when an article written for a ticket is published.
        subscribe("documentation.task_closed", link_documentation_for_event)

        register_periodic("tickets.record_missed_responses", record_missed_responses)
        register_periodic("tickets.close_solved_tickets", close_solved_tickets, every_seconds=3600)
