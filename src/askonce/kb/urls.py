"""Help-center pages (public) and the knowledge-base console (staff) under /console/kb/."""

from django.urls import path

from askonce.kb import views

urlpatterns = [
    path("help/", views.help_home, name="help-home"),
    path("help/search", views.help_search, name="help-search"),
    path("help/suggest", views.help_suggest, name="help-suggest"),
    path("help/categories/<slug:slug>/", views.help_category, name="help-category"),
    path("help/articles/<slug:slug>/", views.help_article, name="help-article"),
    path("help/articles/<slug:slug>/vote", views.help_vote, name="help-vote"),
    path("console/kb/", views.kb_dashboard, name="kb-dashboard"),
    path("console/kb/articles/", views.kb_articles, name="kb-articles"),
    path("console/kb/articles/new", views.kb_article_new, name="kb-new"),
    path("console/kb/articles/<slug:slug>/edit", views.kb_article_edit, name="kb-edit"),
    path("console/kb/articles/<slug:slug>/reviewed", views.kb_mark_reviewed, name="kb-reviewed"),
    path("console/kb/articles/<slug:slug>/revisions", views.kb_revisions, name="kb-revisions"),
    path(
        "console/kb/articles/<slug:slug>/revisions/<int:number>/restore",
        views.kb_restore_revision,
        name="kb-restore",
    ),
    path("console/kb/articles/<slug:slug>/diff", views.kb_diff, name="kb-diff"),
    path("console/kb/categories/", views.kb_categories, name="kb-categories"),
    path("console/kb/tasks/", views.kb_tasks, name="kb-tasks"),
    path("console/kb/tasks/<int:task_id>/write", views.kb_task_write, name="kb-task-write"),
    path("console/kb/tasks/<int:task_id>/cancel", views.kb_task_cancel, name="kb-task-cancel"),
]
