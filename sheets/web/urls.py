from django.urls import include, path

from sheets.web import account, history, manage_pages, views
from sheets.web.api import urlpatterns as api_urlpatterns

urlpatterns = [
    path("", views.sheet_list, name="sheet-list"),
    path("account/", account.account, name="account"),
    path("account/tokens/", account.create_token, name="account-create-token"),
    path("account/tokens/<int:token_id>/revoke/", account.revoke_token, name="account-revoke-token"),
    path("new-sheet/", manage_pages.new_sheet, name="sheet-new"),
    path("sheets/<str:name>/", views.grid, name="sheet-grid"),
    path("sheets/<str:name>/members/", manage_pages.members, name="sheet-members"),
    path("sheets/<str:name>/members/change/", manage_pages.change_member, name="sheet-members-change"),
    path("sheets/<str:name>/history/", history.history, name="sheet-history"),
    path("sheets/<str:name>/diff/", history.diff_page, name="sheet-diff"),
    path("api/", include(api_urlpatterns())),
]
