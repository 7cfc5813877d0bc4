"""Revoking a role closes the holder's open sockets on the sheet at once, whichever way it is revoked."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.management import CommandError, call_command

from sheets.broadcast.announce import group_name, notify_sheet_from_sync
from sheets.models import Membership, Role
from sheets.services import grant, revoke
from tests.conftest import PASSWORD
from tests.sheets.conftest import TIMEOUT, cell, ping, receive, send_edit, subscribe


def listen(sheet_id: int):
    """Join the sheet's group on a fresh channel; return a function awaiting its next message."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name(sheet_id), channel)

    async def next_message():
        return await asyncio.wait_for(layer.receive(channel), timeout=TIMEOUT)

    return async_to_sync(next_message)


@pytest.mark.asyncio
async def test_a_revoked_viewer_is_closed_at_once_and_the_others_stay(connect, ws_sheet, member):
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice,), viewers=(bob,))
    writer, reader = await connect(sheet, alice), await connect(sheet, bob)
    await subscribe(writer)
    await subscribe(reader)
    await database_sync_to_async(revoke)(sheet=sheet, username=bob.username)
    closed = await reader.receive_output(timeout=TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)
    # The writer, still a member, keeps editing and pinging.
    await send_edit(writer, cell(0, 0, "after"))
    assert {(await receive(writer))["type"], (await receive(writer))["type"]} == {"ack", "events"}
    assert (await ping(writer))[-1]["type"] == "pong"


@pytest.mark.asyncio
async def test_a_downgraded_editor_keeps_the_socket_but_may_no_longer_edit(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    await database_sync_to_async(grant)(sheet=sheet, username=alice.username, role=Role.VIEWER)
    assert (await ping(communicator))[-1]["type"] == "pong"
    await send_edit(communicator, cell(0, 0, "no"))
    error = await receive(communicator)
    assert (error["type"], error["code"]) == ("error", "forbidden")


@pytest.mark.django_db
def test_revoke_announces_after_commit(make_sheet, alice, django_capture_on_commit_callbacks):
    sheet = make_sheet(viewers=[alice])
    next_message = listen(sheet.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert revoke(sheet=sheet, username=alice.username)
    assert len(callbacks) == 1
    assert next_message() == {"type": "sheet.access", "sheet": sheet.pk}
    assert not Membership.objects.filter(sheet=sheet, user=alice).exists()


@pytest.mark.django_db
def test_the_admin_delete_of_a_membership_announces_it(client, make_user, make_sheet, alice,
                                                     django_capture_on_commit_callbacks):
    client.login(username=make_user(is_staff=True, is_superuser=True).username, password=PASSWORD)
    sheet = make_sheet(viewers=[alice])
    membership = Membership.objects.get(sheet=sheet, user=alice)
    next_message = listen(sheet.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/sheets/membership/{membership.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert next_message() == {"type": "sheet.access", "sheet": sheet.pk}
    assert not Membership.objects.filter(pk=membership.pk).exists()


@pytest.mark.django_db
def test_the_revoke_command_removes_the_role_and_refuses_what_is_not_there(make_sheet, alice, bob, capsys):
    sheet = make_sheet(viewers=[alice])
    call_command("revoke", sheet.name, alice.username)
    assert f"{alice.username} no longer has a role on {sheet.name}" in capsys.readouterr().out
    assert not Membership.objects.filter(sheet=sheet).exists()
    with pytest.raises(CommandError, match="has no role"):
        call_command("revoke", sheet.name, bob.username)
    with pytest.raises(CommandError, match="no user named"):
        call_command("revoke", sheet.name, "nobody-at-all")
    with pytest.raises(CommandError, match="no sheet named"):
        call_command("revoke", "no-such-sheet", alice.username)


@pytest.mark.django_db
def test_removing_a_membership_inline_on_the_sheet_page_announces_it(client, make_user, make_sheet, alice, bob,
                                                                    django_capture_on_commit_callbacks):
    client.login(username=make_user(is_staff=True, is_superuser=True).username, password=PASSWORD)
    sheet = make_sheet(viewers=[alice, bob])
    kept, removed = (Membership.objects.get(sheet=sheet, user=user) for user in (alice, bob))
    form = client.get(f"/admin/sheets/sheet/{sheet.pk}/change/").context["adminform"].form
    data = {name: form[name].value() for name in ("name", "title")}
    data.update({
        "memberships-TOTAL_FORMS": "2", "memberships-INITIAL_FORMS": "2",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
    })
    for index, membership in enumerate((kept, removed)):
        data.update({
            f"memberships-{index}-id": str(membership.pk), f"memberships-{index}-sheet": str(sheet.pk),
            f"memberships-{index}-user": str(membership.user_id), f"memberships-{index}-role": membership.role,
        })
    data["memberships-1-DELETE"] = "on"
    next_message = listen(sheet.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/sheets/sheet/{sheet.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    assert next_message() == {"type": "sheet.access", "sheet": sheet.pk}
    assert list(Membership.objects.filter(sheet=sheet).values_list("user_id", flat=True)) == [alice.pk]


@pytest.mark.asyncio
async def test_an_announcement_from_sync_code_on_a_running_loop_is_scheduled_there(fresh_channel_layer):
    # An on-commit hook in a thread that runs its own event loop (a sync
    # API built on one, such as Playwright's) cannot block on the layer.
    channel = await fresh_channel_layer.new_channel()
    await fresh_channel_layer.group_add(group_name(987654), channel)
    notify_sheet_from_sync(sheet_id=987654, message={"type": "sheet.access"}, what="a test")
    assert await asyncio.wait_for(fresh_channel_layer.receive(channel), timeout=TIMEOUT) == {
        "type": "sheet.access", "sheet": 987654
    }
