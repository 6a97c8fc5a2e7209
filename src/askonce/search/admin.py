from django.contrib import admin
from django.http import HttpRequest

from askonce.search.models import SearchDocument


@admin.register(SearchDocument)
class SearchDocumentAdmin(admin.ModelAdmin):
    """To look at what search holds; the domains that own the documents change them."""

    list_display = ["kind", "ref_id", "title", "visibility", "organization_id", "updated_at"]
    list_filter = ["kind", "visibility"]
    search_fields = ["title"]
    readonly_fields = [field.name for field in SearchDocument._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False
