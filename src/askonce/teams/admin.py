from django.contrib import admin

from askonce.teams.models import Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "response_target_minutes", "email"]
    inlines = [MembershipInline]
