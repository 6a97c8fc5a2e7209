from django.contrib import admin

from askonce.kb.models import Article, Category, DocumentationTask, Revision, Vote


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "owner_user", "owner_team", "review_interval_days")


class RevisionInline(admin.TabularInline):
    model = Revision
    fields = ("number", "title", "author", "note", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "category", "status", "internal", "review_due_at")
    list_filter = ("status", "internal", "category")
    search_fields = ("title", "slug")
    readonly_fields = ("revision_number", "view_count", "helpful_count", "not_helpful_count")
    inlines = [RevisionInline]


@admin.register(DocumentationTask)
class DocumentationTaskAdmin(admin.ModelAdmin):
    list_display = ("summary", "ticket_id", "category", "status", "created_at")
    list_filter = ("status",)


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ("article", "helpful", "created_at")
