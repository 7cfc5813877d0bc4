"""create_sheet and grant (docs/protocol.md, section 11)."""

import pytest
from django.core.management import CommandError, call_command

from sheets.models import Membership, Sheet

pytestmark = pytest.mark.django_db


def test_create_sheet_with_owner(make_user):
    owner = make_user()
    call_command("create_sheet", "budget-2026", "--rows", "100", "--cols", "8", "--owner", owner.username)
    sheet = Sheet.objects.get(name="budget-2026")
    assert (sheet.stream.rows, sheet.stream.cols, sheet.head) == (100, 8, 0)
    assert Membership.objects.get(sheet=sheet).role == "owner"


@pytest.mark.parametrize(
    "args,message",
    [
        (["bad name!", "--rows", "3", "--cols", "3"], "name"),
        (["x" * 65, "--rows", "3", "--cols", "3"], "name"),
        (["ok", "--rows", "0", "--cols", "3"], "rows"),
        (["ok", "--rows", "3", "--cols", "0"], "cols"),
        (["ok", "--rows", "3", "--cols", "3", "--owner", "ghost"], "ghost"),
    ],
)
def test_create_sheet_refuses_bad_input_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_sheet", *args)
    assert not Sheet.objects.exists()


def test_create_sheet_refuses_a_duplicate_name():
    call_command("create_sheet", "twice", "--rows", "3", "--cols", "3")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_sheet", "twice", "--rows", "5", "--cols", "5")
    assert Sheet.objects.get(name="twice").stream.rows == 3


def test_grant_sets_and_replaces_a_role(make_user, make_sheet):
    user, sheet = make_user(), make_sheet()
    call_command("grant", sheet.name, user.username, "viewer")
    call_command("grant", sheet.name, user.username, "editor")
    assert list(Membership.objects.filter(sheet=sheet, user=user).values_list("role", flat=True)) == ["editor"]


def test_grant_refuses_unknown_sheet_user_or_role(make_user, make_sheet):
    user, sheet = make_user(), make_sheet()
    with pytest.raises(CommandError, match="no sheet"):
        call_command("grant", "nope", user.username, "viewer")
    with pytest.raises(CommandError, match="no user"):
        call_command("grant", sheet.name, "ghost", "viewer")
    with pytest.raises(CommandError):
        call_command("grant", sheet.name, user.username, "admin")
    assert not Membership.objects.filter(sheet=sheet).exists()
