from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "askonce.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.tasks.signals import task_enqueued

        from askonce.core.wakeup import wake_after_commit

        # A committed task wakes the sleeping workers at once (see core/wakeup.py).
        task_enqueued.connect(wake_after_commit, dispatch_uid="askonce.core.wakeup")
