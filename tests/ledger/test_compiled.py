"""CompiledRead and the __any_of lookup: the same rows as the queryset, compiled once, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.db.models import CharField, F
from django.db.models.functions import Cast

from ledger.compiled import CompiledRead, CompiledUpdate
from ledger.models import Event, Stream
from ledger.services import create_stream, lock_stream, lock_stream_of
from sheets.models import Membership, Sheet
from tests.conftest import edit, unique

pytestmark = pytest.mark.django_db


def _streams(count: int) -> list[Stream]:
    return [create_stream(name=unique("compiled"), rows=index, cols=index + 1) for index in range(count)]


def test_rows_equal_the_querysets_rows_for_every_value_given():
    streams = _streams(4)
    by_names = CompiledRead(
        lambda names, least, other: Stream.objects.filter(name__any_of=names, rows__gte=least).exclude(name=other)
        .order_by("name").values_list("name", "rows", "cols")
    )
    for chosen, least in ((streams[:2], 0), (streams[1:], 2), (streams[3:], 0), (streams, 5)):
        names = {stream.name for stream in chosen}
        expected = list(
            Stream.objects.filter(name__in=names, rows__gte=least).order_by("name").values_list("name", "rows", "cols")
        )
        assert by_names.rows(names=names, least=least, other="") == expected
    assert by_names.rows(names=[streams[2].name], least=0, other="") == [(streams[2].name, 2, 3)]
    assert by_names.rows(names=[streams[2].name], least=0, other=streams[2].name) == []


def test_any_of_matches_as_in_does_through_a_foreign_key(make_user, make_sheet):
    editor, viewer, stranger = make_user(), make_user(), make_user()
    sheet = make_sheet(editors=[editor], viewers=[viewer])
    wanted = [editor.pk, viewer.pk, stranger.pk]
    assert sorted(Membership.objects.filter(sheet=sheet, user_id__any_of=wanted).values_list("user_id", "role")) == sorted(
        Membership.objects.filter(sheet=sheet, user_id__in=wanted).values_list("user_id", "role")
    )
    assert sorted(Membership.objects.filter(sheet=sheet, user_id__any_of=wanted).values_list("user_id", flat=True)) == [
        editor.pk, viewer.pk,
    ]


def test_a_uuid_list_is_one_parameter(make_user, make_sheet):
    user = make_user()
    sheet = make_sheet(editors=[user])
    first = edit(sheet, user, (0, 0, "a")).events[0]
    edit(sheet, user, (0, 1, "b"))
    found = CompiledRead(
        lambda stream_id, ids: Event.objects.filter(stream_id=stream_id, client_event_id__any_of=ids).values_list("seq")
    )
    assert found.rows(stream_id=sheet.stream_id, ids={first.client_event_id}) == [(first.seq,)]


@pytest.mark.postgres
def test_on_postgresql_the_queryset_is_built_once():
    streams = _streams(3)
    built = []

    def build(stream_id: Any) -> Any:
        built.append(stream_id)
        return Stream.objects.filter(pk=stream_id).values_list("name")

    read = CompiledRead(build)
    assert [read.rows(stream_id=stream.pk) for stream in streams] == [[(stream.name,)] for stream in streams]
    assert len(built) == 1
    assert '"name" = ANY(' in str(Stream.objects.filter(name__any_of=["x", "y"]).query)


class _Shouting(CharField):
    def from_db_value(self, value: str, expression: Any, connection: Any) -> str:
        return value.upper()


def test_the_fields_converters_still_apply():
    (stream,) = _streams(1)
    read = CompiledRead(
        lambda stream_id: Stream.objects.filter(pk=stream_id)
        .annotate(loud=Cast(F("name"), _Shouting(max_length=64))).values_list("name", "loud")
    )
    assert read.rows(stream_id=stream.pk) == [(stream.name, stream.name.upper())]


def test_misuse_is_refused_with_the_reason():
    flat = CompiledRead(lambda stream_id: Stream.objects.filter(pk=stream_id).values_list("name", flat=True))
    with pytest.raises(TypeError, match="values_list"):
        flat.rows(stream_id=1)
    read = CompiledRead(lambda stream_id: Stream.objects.filter(pk=stream_id).values_list("name"))
    with pytest.raises(TypeError, match="takes"):
        read.rows(pk=1)


@pytest.mark.postgres
def test_a_parameter_the_statement_ignores_is_refused():
    ignoring = CompiledRead(lambda stream_id, name: Stream.objects.filter(pk=stream_id).values_list("name"))
    with pytest.raises(TypeError, match="does not use"):
        ignoring.rows(stream_id=1, name="x")


def test_lock_stream_returns_the_stream_as_stored(make_user, make_sheet):
    user = make_user()
    sheet = make_sheet(editors=[user])
    edit(sheet, user, (0, 0, "a"))
    stored = Stream.objects.get(pk=sheet.stream_id)
    with transaction.atomic():
        by_pk = lock_stream(stream_id=stored.pk)
        by_sheet = lock_stream_of(owner=Sheet, owner_id=sheet.pk)
    for locked in (by_pk, by_sheet):
        assert [getattr(locked, f.attname) for f in Stream._meta.concrete_fields] == [
            getattr(stored, f.attname) for f in Stream._meta.concrete_fields
        ]
        assert not locked._state.adding


def test_lock_stream_of_a_missing_row_raises_does_not_exist():
    with transaction.atomic():
        with pytest.raises(Stream.DoesNotExist):
            lock_stream_of(owner=Sheet, owner_id=2**31 - 1)
        with pytest.raises(Stream.DoesNotExist):
            lock_stream(stream_id=2**31 - 1)


def test_an_update_sets_the_fields_of_the_rows_it_names_only():
    first, second = _streams(2)
    move = CompiledUpdate(Stream, where=("pk",), set=("head", "head_hash"))
    for head in (3, 7):
        move.run(pk=first.pk, head=head, head_hash=f"{head:064x}")
        assert Stream.objects.values_list("head", "head_hash").get(pk=first.pk) == (head, f"{head:064x}")
    assert Stream.objects.values_list("head", "head_hash").get(pk=second.pk) == (second.head, second.head_hash)
    with pytest.raises(TypeError, match="takes"):
        move.run(pk=first.pk, head=1)
