"""The admin lists, filters and searches events, and refuses every write, even to a superuser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ledger.models import Event
from projections.models import Cell
from tests.conftest import PASSWORD, edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(make_sheet, alice, bob):
    sheet = make_sheet(rows=10, cols=5, editors=[alice, bob])
    edit(sheet, alice, (3, 1, "budget 2026"))
    edit(sheet, bob, (0, 0, "forecast"))
    return sheet


@pytest.fixture
def admin_client(client, make_user):
    root = make_user(is_superuser=True, is_staff=True)
    assert client.login(username=root.username, password=PASSWORD)
    return client


def event_of(sheet, seq: int) -> Event:
    return Event.objects.get(stream__sheet=sheet, seq=seq)


def listed_seqs(response) -> list[int]:
    return sorted(event.seq for event in response.context["cl"].result_list)


def test_the_changelist_lists_events_with_their_cell_in_a1_notation(admin_client, sheet):
    response = admin_client.get("/admin/ledger/event/", {"stream__id__exact": sheet.stream_id})
    assert response.status_code == 200
    assert listed_seqs(response) == [1, 2]
    assert "B4 (3, 1)" in response.content.decode()


def test_the_changelist_filters_by_broadcaster(admin_client, sheet, bob):
    response = admin_client.get("/admin/ledger/event/", {"stream__id__exact": sheet.stream_id, "broadcaster__id__exact": bob.pk})
    assert listed_seqs(response) == [2]


def test_the_changelist_searches_values_and_client_event_ids(admin_client, sheet):
    response = admin_client.get("/admin/ledger/event/", {"stream__id__exact": sheet.stream_id, "q": "budget"})
    assert listed_seqs(response) == [1]
    wanted = event_of(sheet, 2).client_event_id
    response = admin_client.get("/admin/ledger/event/", {"q": str(wanted)})
    assert [event.client_event_id for event in response.context["cl"].result_list] == [wanted]


def test_the_changelist_filters_by_date(admin_client, sheet):
    today = timezone.now().date()
    def between(first, last):
        return admin_client.get("/admin/ledger/event/", {
            "stream__id__exact": sheet.stream_id,
            "recorded_at__gte": f"{first} 00:00:00+00:00",
            "recorded_at__lt": f"{last} 00:00:00+00:00",
        })
    assert listed_seqs(between(today, today + timedelta(days=1))) == [1, 2]
    assert listed_seqs(between(today - timedelta(days=2), today - timedelta(days=1))) == []


def test_the_add_view_is_refused_to_a_superuser(admin_client, sheet):
    assert admin_client.get("/admin/ledger/event/add/").status_code == 403
    count = Event.objects.count()
    assert admin_client.post("/admin/ledger/event/add/", {"sheet": sheet.pk, "seq": 3}).status_code == 403
    assert Event.objects.count() == count


def test_the_change_view_is_read_only_and_a_post_is_refused(admin_client, sheet):
    event = event_of(sheet, 1)
    url = f"/admin/ledger/event/{event.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert 'name="_save"' not in page.content.decode()
    response = admin_client.post(url, {"new_value": "forged", "old_value": "", "seq": 1, "row": 3, "col": 1})
    assert response.status_code == 403
    assert event_of(sheet, 1).new_value == "budget 2026"


def test_the_delete_view_is_refused_to_a_superuser(admin_client, sheet):
    event = event_of(sheet, 1)
    url = f"/admin/ledger/event/{event.pk}/delete/"
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()


def test_the_changelist_offers_no_bulk_delete(admin_client, sheet):
    assert admin_client.get("/admin/ledger/event/").context["action_form"] is None
    event = event_of(sheet, 1)
    admin_client.post("/admin/ledger/event/", {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    assert Event.objects.filter(pk=event.pk).exists()


def test_the_sheet_admin_shows_the_head_read_only(admin_client, sheet):
    page = admin_client.get(f"/admin/sheets/sheet/{sheet.pk}/change/")
    assert page.status_code == 200
    form_fields = page.context["adminform"].form.fields
    assert "head" not in form_fields and "head_hash" not in form_fields
    assert "name" in form_fields


def test_the_cells_admin_refuses_writes_too(admin_client, sheet):
    cell = Cell.objects.get(stream__sheet=sheet, row_id="r3", col_id="c1")
    assert admin_client.get(f"/admin/projections/cell/{cell.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/projections/cell/add/").status_code == 403
    assert admin_client.get("/admin/projections/cell/").status_code == 200
    assert admin_client.get("/admin/projections/projectionsnapshot/").status_code == 200
