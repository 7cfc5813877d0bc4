"""The projection in Django's admin: view only, since it is derived from the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from projections.models import Cell, ProjectionSnapshot


if TYPE_CHECKING:
    # ModelAdmin is generic only in django-stubs; at runtime it cannot be subscripted.
    AnyModelAdmin = admin.ModelAdmin[Any]
else:
    AnyModelAdmin = admin.ModelAdmin


class DerivedAdmin(AnyModelAdmin):
    # Cells and snapshots are rebuilt from the ledger (rebuild_projections);
    # a hand edit here would only be a difference for --check to report.
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Cell)
class CellAdmin(DerivedAdmin):
    list_display = ("sheet", "row", "col", "value", "last_seq")
    list_filter = ("sheet",)
    list_select_related = ("sheet",)
    search_fields = ("value",)
    show_full_result_count = False


@admin.register(ProjectionSnapshot)
class ProjectionSnapshotAdmin(DerivedAdmin):
    list_display = ("sheet", "seq", "created_at")
    list_filter = ("sheet",)
    list_select_related = ("sheet",)
    exclude = ("cells",)
