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
        # Articles that say the same thing, or answer the same questions: flagged to both owners.
        subscribe("article.published", tasks.queue_article_overlap_check)
        subscribe("article.updated", tasks.queue_article_overlap_check)
        register_periodic(
            "questions.check_question_overlaps", tasks.check_question_overlaps, every_seconds=600
        )
        # Repeats are linked at first sight; every hour the open questions are grouped anew,
        # all together, and gaps that turn out to be the same question merge.
        register_periodic(
            "questions.regroup_open_questions",
            tasks.regroup_open_questions,
            every_seconds=3600,
            background=True,  # ~16 s of numpy at 5,000 questions: pages must not wait for it
        )
