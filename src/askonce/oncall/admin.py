from django.contrib import admin

from askonce.oncall.models import Layer, LayerParticipant, Override, Schedule


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
    list_display = ["name", "schedule", "priority", "time_zone", "shift_count", "shift_unit"]
    inlines = [ParticipantInline]


@admin.register(Override)
class OverrideAdmin(admin.ModelAdmin):
    list_display = ["schedule", "user", "start", "end", "reason"]
    raw_id_fields = ["user", "created_by"]
