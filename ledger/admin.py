"""The ledger in Django's admin: listed, filtered, searched, never written."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ledger.models import Event
from sheets.notation import a1

SHORT = 60


def _shorten(value: str) -> str:
    return value if len(value) <= SHORT else value[: SHORT - 1] + "…"


if TYPE_CHECKING:
    # ModelAdmin is generic only in django-stubs; at runtime it cannot be subscripted.
    EventModelAdmin = admin.ModelAdmin[Event]
else:
    EventModelAdmin = admin.ModelAdmin


@admin.register(Event)
class EventAdmin(EventModelAdmin):
    # Every field is read-only and every write permission is refused below,
    # for superusers too: the admin is a viewer of the ledger, and the
    # database triggers would refuse the write anyway.
    list_display = ("sheet", "seq", "cell", "old", "new", "broadcaster", "recorded_at")
    list_display_links = ("seq",)
    list_filter = ("sheet", "broadcaster", ("recorded_at", admin.DateFieldListFilter))
    list_select_related = ("sheet", "broadcaster")
    search_fields = ("old_value", "new_value")
    search_help_text = "Search old and new values, or paste a client_event_id."
    ordering = ("sheet", "-seq")
    # Counting a million rows for "N total" on every page view is not worth it.
    show_full_result_count = False
    actions = None
    readonly_fields = [field.name for field in Event._meta.fields]

    @admin.display(description="cell")
    def cell(self, event: Event) -> str:
        return f"{a1(event.row, event.col)} ({event.row}, {event.col})"

    @admin.display(description="old value")
    def old(self, event: Event) -> str:
        return _shorten(event.old_value)

    @admin.display(description="new value")
    def new(self, event: Event) -> str:
        return _shorten(event.new_value)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Event], search_term: str
    ) -> tuple[QuerySet[Event], bool]:
        # A UUID is looked up exactly, whatever the database stores it as
        # (SQLite keeps 32 hex digits without dashes, so a text search would miss).
        try:
            wanted = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(client_event_id=wanted), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
