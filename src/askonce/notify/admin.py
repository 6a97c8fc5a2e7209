from django.contrib import admin

from askonce.notify.models import OutboundMail


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin):
    list_display = ["subject", "recipients", "kind", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipients", "subject", "message_id", "thread"]
    readonly_fields = [field.name for field in OutboundMail._meta.fields]
