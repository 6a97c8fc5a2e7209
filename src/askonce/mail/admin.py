from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from askonce.mail.actions import do_reprocess_mail
from askonce.mail.models import InboundMail, Outcome


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    list_display = ["received_at", "sender", "subject", "outcome", "ticket", "channel", "size"]
    list_filter = ["outcome", "channel"]
    search_fields = ["sender", "subject", "message_id", "recipients"]
    exclude = ["raw"]
    readonly_fields = [f.name for f in InboundMail._meta.fields if f.name != "raw"]
    actions = ["process_again"]

    @admin.action(description="Process the selected rejected mail again")
    def process_again(self, request: HttpRequest, queryset: QuerySet[InboundMail]) -> None:
        done = 0
        for inbound in queryset.filter(outcome=Outcome.REJECTED):
            result = do_reprocess_mail(inbound=inbound)
            if result is not None:
                done += 1
        messages.info(request, f"{done} message(s) processed again.")
