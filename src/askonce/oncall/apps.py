from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "askonce.oncall"
    label = "oncall"
    verbose_name = "On-call"

    def ready(self) -> None:
        from askonce.core.events import subscribe
        from askonce.core.periodic import register_periodic
        from askonce.oncall import tasks

        # Lower domains record these; on-call pages (DESIGN §5: who pages).
        subscribe("emergency_received", tasks.page_for_event)
        subscribe("ticket.team_response_missed", tasks.page_for_event)
        # Weekend ticket duty: new tickets reach whoever is on it (tickets never import oncall).
        subscribe("ticket.created", tasks.notify_ticket_duty)
        register_periodic("oncall.run_due_escalations", tasks.run_due_escalations, every_seconds=2)
        register_periodic(
            "oncall.page_for_unhandled_events", tasks.page_for_unhandled_events, every_seconds=30
        )
        # Whoever comes on call hears of it shortly before; once per shift (a row per notice).
        register_periodic("oncall.notify_shift_starts", tasks.notify_shift_starts, every_seconds=60)
        register_periodic(
            "oncall.notify_ticket_duty_for_unhandled",
            tasks.notify_ticket_duty_for_unhandled,
            every_seconds=60,
        )
