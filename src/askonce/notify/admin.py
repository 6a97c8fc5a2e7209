from django.contrib import admin

from askonce.notify.models import OutboundMail, WebhookDelivery, WebhookEndpoint


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin):
    list_display = ["subject", "recipients", "kind", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipients", "subject", "message_id", "thread"]
    readonly_fields = [field.name for field in OutboundMail._meta.fields]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "user", "slack_format", "is_active", "created_at"]
    list_filter = ["is_active", "slack_format"]
    raw_id_fields = ["user"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "response_status", "created_at"]
    list_filter = ["status", "event"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
