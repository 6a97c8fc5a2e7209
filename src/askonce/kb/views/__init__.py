"""Pages of the knowledge base: the public help center (`help`) and the staff side (`staff`)."""

from askonce.kb.views.help import (
    help_article,
    help_category,
    help_home,
    help_search,
    help_suggest,
    help_vote,
)
from askonce.kb.views.staff import (
    kb_article_edit,
    kb_article_new,
    kb_articles,
    kb_categories,
    kb_dashboard,
    kb_diff,
    kb_mark_reviewed,
    kb_restore_revision,
    kb_revisions,
    kb_task_cancel,
    kb_task_write,
    kb_tasks,
)

__all__ = [
    "help_article",
    "help_category",
    "help_home",
    "help_search",
    "help_suggest",
    "help_vote",
    "kb_article_edit",
    "kb_article_new",
    "kb_articles",
    "kb_categories",
    "kb_dashboard",
    "kb_diff",
    "kb_mark_reviewed",
    "kb_restore_revision",
    "kb_revisions",
    "kb_task_cancel",
    "kb_task_write",
    "kb_tasks",
]
