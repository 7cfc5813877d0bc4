"""Sheets and memberships in Django's admin."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from ledger.services import create_stream
from sheets.models import MAX_COLS, MAX_ROWS, Membership, Sheet
from sheets.services import announce_access_change, revoke_memberships


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


class NewSheetForm(forms.ModelForm):
    """A new sheet's fields, with the size it starts with (which belongs to its stream and never changes)."""

    rows = forms.IntegerField(min_value=1, max_value=MAX_ROWS, initial=100)
    cols = forms.IntegerField(min_value=1, max_value=MAX_COLS, initial=26)

    class Meta:
        model = Sheet
        fields = ("name", "title")


@admin.register(Sheet)
class SheetAdmin(admin.ModelAdmin):
    list_display = ("name", "title", "state", "head", "created_at")
    list_select_related = ("stream",)
    search_fields = ("name", "title")
    # The stream's head and hash are the end of the ledger's chain, written
    # only by the ledger under its row lock; they are shown, never edited.
    # An import's state is sheets.imports' to move: READY only with its last chunk.
    readonly_fields = ("stream", "head", "created_at", "state", "rows_imported")
    inlines = (MembershipInline,)

    @admin.display(description="head")
    def head(self, sheet: Sheet) -> int:
        return sheet.stream.head

    def get_form(self, request: HttpRequest, obj: Sheet | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = NewSheetForm
            kwargs["fields"] = ("name", "title", "rows", "cols")
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Sheet | None = None) -> Any:
        if obj is None:
            return ("name", "title", "rows", "cols")
        return super().get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: Sheet, form: Any, change: bool) -> None:
        with transaction.atomic():
            if not change:
                obj.stream = create_stream(
                    name=obj.name, rows=form.cleaned_data["rows"], cols=form.cleaned_data["cols"]
                )
            super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        # A membership removed or changed here must reach its holder's open
        # sockets as it would from the grant and revoke commands.
        if formset.model is Membership and formset.has_changed():
            transaction.on_commit(partial(announce_access_change, sheet_id=form.instance.pk))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("sheet", "user", "role")
    list_filter = ("role", "sheet")
    search_fields = ("sheet__name", "user__username")
    autocomplete_fields = ("user",)
    list_select_related = ("sheet", "user")

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        transaction.on_commit(partial(announce_access_change, sheet_id=obj.sheet_id))

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        revoke_memberships([obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        revoke_memberships(list(queryset))
