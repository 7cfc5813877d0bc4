"""The ledger in Django's admin: listed, filtered, searched, never written."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ledger.models import Event, Stream
from ledger.notation import a1

SHORT = 60


def _shorten(value: str) -> str:
    return value if len(value) <= SHORT else value[: SHORT - 1] + "…"


if TYPE_CHECKING:
    # ModelAdmin is generic only in django-stubs; at runtime it cannot be subscripted.
    AnyModelAdmin = admin.ModelAdmin[Any]
else:
    AnyModelAdmin = admin.ModelAdmin


class ReadOnlyAdmin(AnyModelAdmin):
    """An admin that lists and shows, and refuses every write, to superusers too.

    For the ledger (whose triggers would refuse the write anyway) and for
    whatever is derived from it (a hand edit would only be a difference
    for rebuild_projections --check to report).
    """

    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Stream)
class StreamAdmin(ReadOnlyAdmin):
    list_display = ("name", "head", "head_hash", "created_at")
    search_fields = ("name",)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("stream", "seq", "cell", "old", "new", "broadcaster", "recorded_at")
    list_display_links = ("seq",)
    list_filter = ("stream", "broadcaster", ("recorded_at", admin.DateFieldListFilter))
    list_select_related = ("stream", "broadcaster")
    search_fields = ("old_value", "new_value")
    search_help_text = "Search old and new values, or paste a client_event_id."
    ordering = ("stream", "-seq")
    # Counting a million rows for "N total" on every page view is not worth it.
    show_full_result_count = False
    readonly_fields = [field.name for field in Event._meta.fields]

    @admin.display(description="cell")
    def cell(self, event: Event) -> str:
        if event.row is None or event.col is None:
            return ""  # a structure event names rows or columns, not a cell
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
