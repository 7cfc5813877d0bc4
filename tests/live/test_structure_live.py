"""Rows and columns with identity, live: real daphne processes, real websockets, replicas that fold by id.

Every client is a strict ``SheetClient`` given the sheet's shape: it applies
RowsInserted, RowsDeleted, ColumnsInserted and ColumnsDeleted to its own
order of ids and checks every event's positions and old value against it
(tests/live/clients.py), so a server that placed a row or a cell anywhere
but where the protocol says fails the client before any final comparison.
The final comparison is with the server's own read of the sheet
(projections.selectors.read_now) and with its ledger.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.db import connection

from ledger.models import Event, Stream
from ledger.serialization import event_to_dict
from proj.testing import ErrorFrame, new_client_event_id
from proj.testing.servers import DaphneServer, DaphneServers
from projections.selectors import read_now
from sheets.models import Sheet
from tests.live.clients import SheetClient
from tests.live.conftest import LIVE_ENV, Team

pytestmark = [pytest.mark.live, pytest.mark.asyncio, pytest.mark.timeout(180)]

SHAPE = (40, 8)  # the team's sheet: r0 … r39, c0 … c7


def _read_server(sheet: Sheet) -> dict[str, Any]:
    try:
        read = read_now(stream=Stream.objects.get(pk=sheet.stream_id))
        return {"head": read.head, "row_ids": read.row_ids, "col_ids": read.layout.cols.ids(), "cells": read.cells}
    finally:
        connection.close()


async def server_state(sheet: Sheet) -> dict[str, Any]:
    """The sheet as the server reads it now: head, live row and column ids in order, non-empty cells."""
    return await asyncio.to_thread(_read_server, sheet)


def _read_ledger(sheet: Sheet) -> list[dict[str, Any]]:
    try:
        events = Event.objects.filter(stream_id=sheet.stream_id).select_related("broadcaster").order_by("seq")
        return [event_to_dict(event, sheet_name=sheet.name) for event in events]
    finally:
        connection.close()


async def ledger(sheet: Sheet) -> list[dict[str, Any]]:
    """Every event of the sheet as the protocol shows it, in seq order."""
    return await asyncio.to_thread(_read_ledger, sheet)


def _count_events_of(sheet: Sheet, client_event_id: str) -> int:
    try:
        return Event.objects.filter(stream_id=sheet.stream_id, client_event_id=client_event_id).count()
    finally:
        connection.close()


async def assert_identical(sheet: Sheet, *clients: SheetClient) -> dict[str, Any]:
    """Bring every client up to the head (ping) and compare each with the server and with the ledger."""
    server = await server_state(sheet)
    events = await ledger(sheet)
    assert [event["seq"] for event in events] == list(range(1, server["head"] + 1))
    for client in clients:
        assert await client.ping() == server["head"], client.name
        assert client.state() == server, f"{client.name} differs from the server"
        assert client.applied == events[client.snapshot_head:], f"{client.name} applied other events than the ledger's"
    return server


async def pair(daphne_servers: DaphneServers, team: Team, env: dict[str, str] | None = None,
               ) -> tuple[SheetClient, SheetClient]:
    """alice on a first process, bob on a second, both subscribed from 0."""
    first, second = daphne_servers.start(2, env={**LIVE_ENV, **(env or {})})
    return await asyncio.gather(client(first, team, team.alice, "alice@daphne-1"),
                                client(second, team, team.bob, "bob@daphne-2"))


async def client(server: DaphneServer, team: Team, user: Any, name: str) -> SheetClient:
    sessionid = await asyncio.to_thread(team.login, server, user)
    replica = SheetClient(server, team.sheet.name, sessionid, name=name, shape=SHAPE)
    await replica.connect()
    assert await replica.subscribe(since=0) == [{"type": "caught_up", "head": 0}]
    return replica


def by_id(row_id: str, col_id: str, value: str) -> dict[str, str]:
    return {"row_id": row_id, "col_id": col_id, "value": value}


async def event_at(client: SheetClient, seq: int) -> dict[str, Any]:
    """The event ``seq`` as ``client`` applied it (its ack may come before its events frame: wait for it)."""
    await client.wait_for_seq(seq)
    return client.applied[seq - client.snapshot_head - 1]


def value_at(state: dict[str, Any], row_id: str, col_id: str) -> str:
    return next((c["value"] for c in state["cells"] if (c["row_id"], c["col_id"]) == (row_id, col_id)), "")


# (a) A client behind the others edits by id.


async def test_an_edit_by_id_from_a_client_that_has_not_seen_the_inserts_lands_on_the_row_it_named(
    daphne_servers: DaphneServers, team: Team
) -> None:
    alice, bob = await pair(daphne_servers, team)
    await alice.edit([by_id("r5", "c1", "before")])
    await bob.wait_for_seq(1)
    assert bob.replica.row_ids().index("r5") == 5

    # Bob reads nothing from here on: in his view r5 is still row 5 when he edits it.
    top = await alice.operate("insert_rows", after=None, row_ids=["top-0", "top-1", "top-2"])
    middle = await alice.operate("insert_rows", after="r2", row_ids=["mid-0", "mid-1"])
    assert (top, middle) == ([2], [3])
    assert bob.last_seq == 1, "bob must still be behind when he edits"
    (seq,) = await bob.edit([by_id("r5", "c1", "bob, by id")])

    assert seq == 4
    event = await event_at(bob, 4)
    assert (event["row_id"], event["col_id"], event["row"], event["col"]) == ("r5", "c1", 10, 1)
    assert (event["old_value"], event["new_value"]) == ("before", "bob, by id")
    server = await assert_identical(team.sheet, alice, bob)
    assert server["row_ids"][:11] == ["top-0", "top-1", "top-2", "r0", "r1", "r2", "mid-0", "mid-1", "r3", "r4", "r5"]
    assert value_at(server, "r5", "c1") == "bob, by id"
    # Nothing landed on row 5 as bob saw it (now mid-1) or at position 5 now (r2).
    assert [c for c in server["cells"] if c["row"] == 5 or c["row_id"] == "mid-1"] == []


async def test_an_edit_by_id_racing_an_insert_above_lands_on_its_row_in_either_order(
    daphne_servers: DaphneServers, team: Team
) -> None:
    alice, bob = await pair(daphne_servers, team)
    for round_ in range(6):
        ids = [f"race{round_}-{k}" for k in range(round_ + 1)]
        # Both sent before either is answered: which commits first is the servers' business.
        insert, change = await asyncio.gather(
            alice.send_operation("insert_rows", after=None, row_ids=ids),
            bob.send_edit([by_id("r30", "c2", f"round {round_}")]),
        )
        (insert_seq,), (edit_seq,) = await asyncio.gather(alice.wait_ack(insert), bob.wait_ack(change))
        await bob.wait_for_seq(max(insert_seq, edit_seq))
        event = await event_at(bob, edit_seq)
        above = bob.replica.row_ids().index("r30") - (len(ids) if edit_seq < insert_seq else 0)
        assert (event["row_id"], event["new_value"], event["row"]) == ("r30", f"round {round_}", above)
    server = await assert_identical(team.sheet, alice, bob)
    assert server["row_ids"].index("r30") == 30 + sum(range(1, 7))
    assert value_at(server, "r30", "c2") == "round 5"
    assert [c["row_id"] for c in server["cells"]] == ["r30"]


async def test_a_positional_edit_lands_on_the_position_at_commit(daphne_servers: DaphneServers, team: Team) -> None:
    alice, bob = await pair(daphne_servers, team)
    await alice.operate("insert_rows", after="r1", row_ids=["new"])
    await alice.operate("delete_cols", col_ids=["c0"])
    await bob.wait_for_seq(2)

    # Bob knows the sheet and nobody changes it while he edits: row 2, column 0 is new/c1 for him and at commit.
    assert await bob.edit([(2, 0, "by position")]) == [3]
    event = await event_at(bob, 3)
    assert (event["row_id"], event["col_id"], event["row"], event["col"]) == ("new", "c1", 2, 0)
    await alice.wait_for_seq(3)

    # A client behind that edits by position gets the position at commit, not the row it saw there:
    # alice reads nothing while bob inserts a row at the top, so row 2 is still "new" in her view.
    assert await bob.operate("insert_rows", after=None, row_ids=["pushed"]) == [4]
    assert alice.last_seq == 3 and alice.replica.row_ids()[2] == "new"
    assert await alice.edit([(2, 0, "alice at row 2")]) == [5]
    event = await event_at(alice, 5)
    assert (event["row_id"], event["col_id"], event["row"], event["col"]) == ("r1", "c1", 2, 0)
    server = await assert_identical(team.sheet, alice, bob)
    assert value_at(server, "new", "c1") == "by position" and value_at(server, "r1", "c1") == "alice at row 2"


# (b) A client offline while others insert and delete catches up.


async def _restructure_while_bob_is_away(alice: SheetClient, bob: SheetClient) -> int:
    """alice edits, inserts and deletes rows and columns while bob is disconnected; return bob's last seq."""
    await alice.edit([by_id("r3", "c3", "kept"), by_id("r7", "c0", "in a row to delete")])
    await bob.wait_for_seq(2)
    await bob.disconnect()
    await alice.operate("insert_rows", after="r3", row_ids=["n0", "n1"])
    await alice.edit([by_id("n1", "c3", "in a new row"), (0, 0, "top left")])
    await alice.operate("delete_rows", row_ids=["r7", "r0"])
    await alice.operate("insert_cols", after=None, col_ids=["k0"])
    await alice.edit([by_id("n0", "k0", "new row, new column"), by_id("r3", "c2", "to be dropped")])
    await alice.operate("delete_cols", col_ids=["c2"])
    await alice.operate("insert_rows", after="r7", row_ids=["n-r7"])
    await alice.edit([by_id("n-r7", "c3", "after a tombstone")])
    return 2


@pytest.mark.parametrize("threshold", [None, "3"], ids=["replay", "snapshot"])
async def test_a_client_offline_during_inserts_and_deletes_replays_exactly_what_it_missed(
    daphne_servers: DaphneServers, team: Team, threshold: str | None
) -> None:
    env = {} if threshold is None else {"SHEETS_SNAPSHOT_THRESHOLD": threshold}
    alice, bob = await pair(daphne_servers, team, env)
    left_at = await _restructure_while_bob_is_away(alice, bob)
    head = (await server_state(team.sheet))["head"]
    assert head == 12

    await bob.connect()
    frames = await bob.subscribe()

    assert frames[-1] == {"type": "caught_up", "head": head}
    missed = await ledger(team.sheet)
    if threshold is None:
        assert {frame["type"] for frame in frames[:-1]} == {"events"}
        replayed = [event for frame in frames[:-1] for event in frame["events"]]
        assert replayed == missed[left_at:], "the replay is not exactly the missed events"
        assert {e["type"] for e in replayed} == {
            "CellChanged", "RowsInserted", "RowsDeleted", "ColumnsInserted", "ColumnsDeleted"}
    else:
        snapshot, *rest = frames[:-1]
        assert snapshot["type"] == "snapshot" and snapshot["head"] <= head
        server = await server_state(team.sheet)
        assert (snapshot["row_ids"], snapshot["col_ids"]) == (server["row_ids"], server["col_ids"])
        if snapshot["head"] == head:
            assert snapshot["cells"] == server["cells"]
        assert [e["seq"] for frame in rest for e in frame["events"]] == list(range(snapshot["head"] + 1, head + 1))
        assert bob.snapshots == [snapshot]
    server = await assert_identical(team.sheet, alice, bob)
    assert server["row_ids"][:6] == ["r1", "r2", "r3", "n0", "n1", "r4"]
    assert server["col_ids"] == ["k0", "c0", "c1", "c3", "c4", "c5", "c6", "c7"]
    assert server["row_ids"][server["row_ids"].index("r6") + 1] == "n-r7"
    # Cells of the deleted row and column are gone; the others followed their rows.
    assert {(c["row_id"], c["col_id"], c["value"]) for c in server["cells"]} == {
        ("r3", "c3", "kept"), ("n1", "c3", "in a new row"), ("n0", "k0", "new row, new column"),
        ("n-r7", "c3", "after a tombstone"),
    }

    # Live again: bob applies an insert after a row deleted before his snapshot (or replay) by its position.
    await alice.operate("insert_rows", after="r0", row_ids=["after-r0"])
    await bob.wait_for_seq(head + 1)
    server = await assert_identical(team.sheet, alice, bob)
    assert server["row_ids"][0] == "after-r0"


# (c) An edit by id of a deleted row or column is refused whole.


async def test_an_edit_by_id_of_a_row_another_client_deleted_is_refused_and_appends_nothing(
    daphne_servers: DaphneServers, team: Team
) -> None:
    alice, bob = await pair(daphne_servers, team)
    await alice.edit([by_id("r6", "c1", "untouched")])
    await bob.wait_for_seq(1)
    await alice.operate("delete_rows", row_ids=["r4"])
    await alice.operate("delete_cols", col_ids=["c5"])
    assert bob.last_seq == 1, "bob must still be behind when he edits"

    refusals = []
    for changes, code, field, missing in [
        ([by_id("r6", "c1", "lost"), by_id("r4", "c0", "deleted row")], "no_such_row", "row_ids", ["r4"]),
        ([by_id("r6", "c1", "lost"), by_id("r6", "c5", "deleted column")], "no_such_col", "col_ids", ["c5"]),
        ([by_id("never", "c0", "x"), by_id("r4", "c0", "x")], "no_such_row", "row_ids", ["never", "r4"]),
    ]:
        cid = new_client_event_id()
        with pytest.raises(ErrorFrame) as refused:
            await bob.wait_ack(await bob.send_operation("edit", client_event_id=cid, changes=changes))
        frame = refused.value.frame
        assert (frame["code"], frame["client_event_id"], frame[field]) == (code, cid, missing), frame
        refusals.append(cid)
    cid = new_client_event_id()
    with pytest.raises(ErrorFrame) as refused:
        await bob.wait_ack(await bob.send_operation("delete_rows", client_event_id=cid, row_ids=["r4"]))
    assert (refused.value.frame["code"], refused.value.frame["row_ids"]) == ("no_such_row", ["r4"])
    refusals.append(cid)

    # The socket stays open and nothing was appended: bob caught up with the two deletes and no more.
    server = await assert_identical(team.sheet, alice, bob)
    assert server["head"] == 3 and bob.last_seq == 3
    assert value_at(server, "r6", "c1") == "untouched"
    for cid in refusals:
        assert await asyncio.to_thread(_count_events_of, team.sheet, cid) == 0
    assert await bob.edit([by_id("r6", "c1", "now it lands")]) == [4]


# (d) One socket's operations, sent without waiting, are applied in order.


async def _pipeline(client: SheetClient, tag: str, rounds: int) -> list[tuple[str, str, list[int] | dict[str, Any]]]:
    """Send insert / edit it by id / delete it / edit it again for ``rounds`` new rows, all at once; collect answers."""
    sent = []
    for i in range(rounds):
        row = f"{tag}-{i}"
        for kind, fields in [
            ("insert_rows", {"after": f"r{i}", "row_ids": [row]}),
            ("edit", {"changes": [by_id(row, "c0", f"{row} was here"), by_id("r39", "c7", f"{row} passed")]}),
            ("delete_rows", {"row_ids": [row]}),
            ("edit", {"changes": [by_id(row, "c1", "too late")]}),
        ]:
            sent.append((kind, row, await client.send_operation(kind, **fields)))
    answers: dict[str, list[int] | dict[str, Any]] = {}
    expected = {cid for _, _, cid in sent}

    async def on_error(frame: dict[str, Any]) -> None:
        answers[frame["client_event_id"]] = frame

    client.on_error = on_error  # type: ignore[method-assign]  # these refusals are expected; collect them
    await client.wait(lambda: expected <= set(answers) | set(client.acks), what=f"the {len(sent)} answers of {tag}")
    del client.on_error
    answers.update({cid: client.acks[cid] for cid in expected if cid in client.acks})
    return [(kind, row, answers[cid]) for kind, row, cid in sent]


async def test_operations_sent_without_waiting_are_applied_in_the_order_sent(
    daphne_servers: DaphneServers, team: Team
) -> None:
    alice, bob = await pair(daphne_servers, team)
    # A second socket on alice's process: its operations and hers share group-commit transactions.
    other = await client(alice.server, team, team.bob, "bob again@daphne-1")
    rounds = 15
    clients = (alice, bob, other)
    results = await asyncio.gather(*(_pipeline(c, tag, rounds) for c, tag in zip(clients, "abo", strict=True)))

    for client_, answered in zip(clients, results, strict=True):
        seqs = [seq for _, _, answer in answered if isinstance(answer, list) for seq in answer]
        assert seqs == sorted(seqs), f"{client_.name}: acks out of the order sent: {seqs}"
        for i in range(rounds):
            (inserted, edited, deleted, late) = answered[4 * i: 4 * i + 4]
            row = inserted[1]
            assert isinstance(inserted[2], list) and isinstance(edited[2], list) and isinstance(deleted[2], list)
            assert len(edited[2]) == 2 and inserted[2][0] < edited[2][0] < deleted[2][0]
            assert isinstance(late[2], dict) and (late[2]["code"], late[2]["row_ids"]) == ("no_such_row", [row])
            # Where the row stood depends on the other client's rows; the replica checked every position.
            await client_.wait_for_seq(deleted[2][0])
            cell = await event_at(client_, edited[2][0])
            assert (cell["row_id"], cell["col_id"], cell["new_value"]) == (row, "c0", f"{row} was here")
            insert_event, delete_event = await event_at(client_, inserted[2][0]), await event_at(client_, deleted[2][0])
            assert insert_event["row_ids"] == delete_event["row_ids"] == [row]
    server = await assert_identical(team.sheet, *clients)
    assert server["row_ids"] == [f"r{i}" for i in range(40)]
    assert server["head"] == len(clients) * rounds * 4
    last = [c for c in server["cells"] if (c["row_id"], c["col_id"]) == ("r39", "c7")]
    assert len(last) == 1 and last[0]["value"].endswith("passed") and server["cells"] == last


async def test_operations_resent_after_a_reconnect_are_acknowledged_with_their_seqs_and_append_nothing(
    daphne_servers: DaphneServers, team: Team
) -> None:
    alice, bob = await pair(daphne_servers, team)
    operations = [
        ("insert_rows", {"after": "r9", "row_ids": ["again"]}),
        ("edit", {"changes": [by_id("again", "c0", "in it"), by_id("r10", "c1", "below it")]}),
        ("delete_rows", {"row_ids": ["again", "r10"]}),
        ("insert_cols", {"after": "c7", "col_ids": ["k-again"]}),
        ("delete_cols", {"col_ids": ["k-again"]}),
    ]
    sent = [(kind, fields, new_client_event_id()) for kind, fields in operations]
    first = [await alice.wait_ack(await alice.send_operation(kind, client_event_id=cid, **fields))
             for kind, fields, cid in sent]
    assert first == [[1], [2, 3], [4], [5], [6]]

    # The same operations again, on another process, after everything they name was deleted: each is a retry.
    await alice.reconnect(server=bob.server)
    alice.acks.clear()
    again = [await alice.wait_ack(await alice.send_operation(kind, client_event_id=cid, **fields))
             for kind, fields, cid in sent]
    assert again == first
    server = await assert_identical(team.sheet, alice, bob)
    assert server["head"] == 6 and server["row_ids"] == [f"r{i}" for i in range(40) if i != 10]
