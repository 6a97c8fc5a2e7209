from django.apps import AppConfig


class KnowledgeBaseConfig(AppConfig):
    name = "askonce.kb"
    label = "kb"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        from askonce.core.events import subscribe
        from askonce.core.periodic import register_periodic
        from askonce.kb import tasks

        # Tickets record this when solved with "documentation needed" (DESIGN §2).
        subscribe("documentation.needed", tasks.open_task_for_event)
        register_periodic(
            "kb.open_tasks_for_unhandled_events",
            tasks.open_tasks_for_unhandled_events,
            every_seconds=60,
        )
        register_periodic("kb.decide_idle_attempts", tasks.decide_idle_attempts, every_seconds=60)
