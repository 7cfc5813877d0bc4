"""Sheets and memberships in Django's admin."""

from __future__ import annotations

from django.contrib import admin

from sheets.models import Membership, Sheet


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Sheet)
class SheetAdmin(admin.ModelAdmin):
    list_display = ("name", "title", "rows", "cols", "head", "created_at")
    search_fields = ("name", "title")
    # The head and its hash are the end of the ledger's chain, written only
    # by append_edit under the row lock; an edit here would make
    # verify_ledger fail (or, worse, hide a truncated ledger).
    readonly_fields = ("head", "head_hash", "created_at")
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("sheet", "user", "role")
    list_filter = ("role", "sheet")
    search_fields = ("sheet__name", "user__username")
    autocomplete_fields = ("user",)
    list_select_related = ("sheet", "user")
