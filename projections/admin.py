"""The projection in Django's admin: view only, since it is derived from the ledger."""

from __future__ import annotations

from django.contrib import admin

from ledger.admin import ReadOnlyAdmin
from projections.models import Cell, Order, ProjectionSnapshot


@admin.register(Cell)
class CellAdmin(ReadOnlyAdmin):
    list_display = ("stream", "row_id", "col_id", "value", "last_seq")
    list_filter = ("stream",)
    list_select_related = ("stream",)
    search_fields = ("value",)
    show_full_result_count = False


@admin.register(ProjectionSnapshot)
class ProjectionSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("stream", "seq", "created_at")
    list_filter = ("stream",)
    list_select_related = ("stream",)
    exclude = ("cells",)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("stream", "axis", "count", "seq")
    list_filter = ("stream",)
    list_select_related = ("stream",)
    exclude = ("runs",)
