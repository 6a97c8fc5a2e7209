from django.contrib import admin
from django.http import HttpRequest

from askonce.oncall.models import (
    CalendarFeed,
    EscalationPolicy,
    EscalationStep,
    EscalationTimer,
    Layer,
    LayerParticipant,
    Override,
    Page,
    RoutingKey,
    Schedule,
    ShiftNotice,
    TicketDutyNotice,
)


class LayerInline(admin.TabularInline):
    model = Layer
    extra = 0
    fields = ["name", "priority", "time_zone", "shift_count", "shift_unit", "handoff_time"]
    show_change_link = True


class ParticipantInline(admin.TabularInline):
    model = LayerParticipant
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "team", "time_zone"]
    inlines = [LayerInline]


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "schedule",
        "priority",
        "time_zone",
        "shift_count",
        "shift_unit",
        "ticket_duty",
    ]
    inlines = [ParticipantInline]


@admin.register(Override)
class OverrideAdmin(admin.ModelAdmin):
    list_display = ["schedule", "user", "start", "end", "reason"]
    raw_id_fields = ["user", "created_by"]


class StepInline(admin.TabularInline):
    model = EscalationStep
    extra = 0
    raw_id_fields = ["user"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "team", "repeat_count"]
    inlines = [StepInline]


class TimerInline(admin.TabularInline):
    model = EscalationTimer
    extra = 0
    readonly_fields = ["round", "step_index", "due_at", "status", "ran_at", "notified", "note"]
    can_delete = False


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ["id", "summary", "status", "urgency", "policy", "trigger_count", "created_at"]
    list_filter = ["status", "urgency", "policy"]
    search_fields = ["summary", "dedup_key"]
    raw_id_fields = ["ticket", "triggered_by", "acknowledged_by", "resolved_by"]
    inlines = [TimerInline]


@admin.register(RoutingKey)
class RoutingKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "policy", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    # The salt stays out of sight: with the secret key it makes the person's address.
    list_display = ["user", "created_at", "last_used_at"]
    fields = ["user", "created_at", "last_used_at"]
    readonly_fields = ["user", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people turn theirs on from My shifts; deleting one here turns it off


@admin.register(ShiftNotice)
class ShiftNoticeAdmin(admin.ModelAdmin):
    list_display = ["user", "schedule", "shift_start", "shift_end", "notified_at", "methods"]
    list_filter = ["schedule"]
    raw_id_fields = ["user"]


@admin.register(TicketDutyNotice)
class TicketDutyNoticeAdmin(admin.ModelAdmin):
    list_display = ["ticket", "user", "schedule", "notified_at"]
    raw_id_fields = ["ticket", "user"]
