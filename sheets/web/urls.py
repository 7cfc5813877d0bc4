from django.urls import include, path

from sheets.web import account, history, views
from sheets.web.api import urlpatterns as api_urlpatterns

urlpatterns = [
    path("", views.sheet_list, name="sheet-list"),
    path("account/", account.account, name="account"),
    path("account/tokens/", account.create_token, name="account-create-token"),
    path("account/tokens/<int:token_id>/revoke/", account.revoke_token, name="account-revoke-token"),
    path("sheets/<str:name>/", views.grid, name="sheet-grid"),
    path("sheets/<str:name>/history/", history.history, name="sheet-history"),
    path("sheets/<str:name>/diff/", history.diff_page, name="sheet-diff"),
    path("api/", include(api_urlpatterns())),
]
