from django.apps import AppConfig


class QuestionsConfig(AppConfig):
    name = "askonce.questions"
    label = "questions"
    verbose_name = "Questions"

    def ready(self) -> None:
        from askonce.core.events import subscribe
        from askonce.core.periodic import register_periodic
        from askonce.kb.suggestions import register_answer_provider
        from askonce.questions import tasks

        # Every ticket's first message is a question (DESIGN §3): the worker indexes new tickets
        # every second or two (no extra write per ticket while the customer waits); solving one
        # records the answer.
        register_periodic("questions.index_new_tickets", tasks.index_new_tickets, every_seconds=2)
        subscribe("ticket.solved", tasks.queue_ticket_answer)
        # Publishing the article written from a gap answers every asking and closes the gap.
        subscribe("article.published", tasks.close_gaps_for_article)
        # The help center's ask box offers the article that answered this question before.
        register_answer_provider(tasks.answering_article_slugs)
        register_periodic(
            "questions.record_unindexed_tickets", tasks.record_unindexed_tickets, every_seconds=60
        )
