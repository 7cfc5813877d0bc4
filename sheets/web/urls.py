from django.urls import path

from sheets.web import api, diff_api, history, views

urlpatterns = [
    path("", views.sheet_list, name="sheet-list"),
    path("sheets/<str:name>/", views.grid, name="sheet-grid"),
    path("sheets/<str:name>/history/", history.history, name="sheet-history"),
    path("sheets/<str:name>/diff/", history.diff_page, name="sheet-diff"),
    path("api/sheets/<str:name>/events/", api.events, name="api-events"),
    path("api/sheets/<str:name>/cells/", api.cells, name="api-cells"),
    path("api/sheets/<str:name>/diff/", diff_api.diff, name="api-diff"),
]
