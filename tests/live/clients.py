"""A sheet replica for live tests that checks every seq, on proj.testing's protocol client.

``SheetClient`` is a strict reader of docs/protocol.md: it applies each event in
turn and fails the test on any gap, duplicate or out-of-order seq, on an
event that differs from an earlier copy of the same seq, and on any error
frame it did not ask for. Frames, waits and the websocket itself are
``proj.testing.ProtocolClient``'s; a raw socket for frames no client would
send is ``proj.testing.open_client`` (or ``open_websocket``).

Its state is a ``Replica``: the ids of the rows and the columns in order
(tombstones kept where it saw them deleted) and the cells by (row_id,
col_id), as a client that edits by id must keep them. Every event is
checked against it on the way in: a ``CellChanged`` must name a live row and
column at exactly the positions it says, with the ``old_value`` the replica
holds; an insert must land where its ``after`` says; a delete must name live
rows at the positions it says. A replica that knows the sheet's shape
(``shape=(rows, cols)``: the rows are then ``r0`` … as created) applies
structure events; one without it handles a sheet whose structure does not
change, and fails on the first structure event.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable
from typing import Any

from proj.testing import ErrorFrame, Frame, ProtocolClient, open_websocket, sheet_path
from proj.testing.servers import DaphneServer

# Generous: two cores are shared with other test runs (and browsers); a
# timeout only costs time when a test is failing anyway.
RECV_TIMEOUT = 30.0

IdCell = tuple[str, str]  # (row_id, col_id)
Shape = tuple[int, int]  # (rows, cols) of a sheet as created

STRUCTURE = {
    # type: (axis, ids field, position field)
    "RowsInserted": ("rows", "row_ids", "row"),
    "RowsDeleted": ("rows", "row_ids", "rows"),
    "ColumnsInserted": ("cols", "col_ids", "col"),
    "ColumnsDeleted": ("cols", "col_ids", "cols"),
}
EVENT_TYPES = frozenset({"CellChanged", *STRUCTURE})

__all__ = ["EVENT_TYPES", "RECV_TIMEOUT", "ErrorFrame", "Line", "Replica", "SheetClient", "cells_of"]


class ReplicaError(AssertionError):
    """An event does not fit the replica: the server broke the protocol (or the replica lost track)."""


class Line:
    """The rows (or the columns) of a replica in order, with the tombstones it has seen.

    ``count=None``: the shape is unknown; the ids are the implicit ``r0``,
    ``r1`` … of a sheet whose structure never changed, grown as far as cell
    events reach, and a structure change is refused.
    """

    def __init__(self, prefix: str, count: int | None) -> None:
        self.prefix = prefix
        self.known = count is not None
        self.entries: list[str] = [f"{prefix}{i}" for i in range(count or 0)]
        self.deleted: set[str] = set()

    @classmethod
    def of_ids(cls, prefix: str, ids: Iterable[str]) -> Line:
        """A line of exactly ``ids`` (a snapshot's): no tombstone known."""
        line = cls(prefix, 0)
        line.entries = list(ids)
        return line

    def ids(self) -> list[str]:
        """The live ids in order."""
        return [id_ for id_ in self.entries if id_ not in self.deleted]

    def position(self, id_: str) -> int | None:
        """The live position of ``id_``, or None if it is not a live id here."""
        if id_ in self.deleted:
            return None
        try:
            return self.ids().index(id_)
        except ValueError:
            return None

    def locate(self, what: str, id_: str, position: int) -> None:
        """Check that ``id_`` is live at ``position`` (growing an unknown line's implicit ids to reach it)."""
        if not self.known:
            while len(self.entries) <= position:
                self.entries.append(f"{self.prefix}{len(self.entries)}")
        found = self.position(id_)
        if found != position:
            raise ReplicaError(f"{what}: {id_!r} is at {found} here, the event says {position}")

    def insert(self, what: str, ids: list[str], position: int, after: str | None) -> None:
        """Insert ``ids`` at live ``position``; where the replica knows ``after``, it must say the same place."""
        if not self.known:
            raise ReplicaError(f"{what}: a structure event, but this replica was not given the sheet's shape")
        known = set(self.entries)
        reused = sorted({id_ for id_ in ids if id_ in known or ids.count(id_) > 1})
        if reused:
            raise ReplicaError(f"{what}: inserts ids used before or twice: {reused}")
        live = self.ids()
        if not 0 <= position <= len(live):
            raise ReplicaError(f"{what}: position {position} outside {len(live)} live ids")
        if after is None:
            index = 0
            if position != 0:
                raise ReplicaError(f"{what}: after null (the top) but at position {position}")
        elif after in known:
            index = self.entries.index(after) + 1
            expected = sum(1 for id_ in self.entries[:index] if id_ not in self.deleted)
            if position != expected:
                raise ReplicaError(f"{what}: after {after!r} means position {expected}, the event says {position}")
        else:
            # A row deleted before this replica's snapshot: only its position is known (and exact).
            index = 0 if position == 0 else self.entries.index(live[position - 1]) + 1
        self.entries[index:index] = ids

    def delete(self, what: str, ids: list[str], positions: list[int]) -> None:
        """Delete the live ``ids``, whose positions just before must be ``positions`` (ascending)."""
        if not self.known:
            raise ReplicaError(f"{what}: a structure event, but this replica was not given the sheet's shape")
        live = {id_: index for index, id_ in enumerate(self.ids())}
        if missing := [id_ for id_ in ids if id_ not in live]:
            raise ReplicaError(f"{what}: deletes ids that are not live: {missing}")
        if sorted(live[id_] for id_ in ids) != positions or len(set(ids)) != len(ids):
            raise ReplicaError(f"{what}: {ids} are at {sorted(live[id_] for id_ in ids)}, the event says {positions}")
        self.deleted.update(ids)


class Replica:
    """A sheet as a client keeps it: rows and columns by id, in order, and cells by (row_id, col_id)."""

    def __init__(self, shape: Shape | None = None) -> None:
        rows, cols = shape if shape is not None else (None, None)
        self.rows = Line("r", rows)
        self.cols = Line("c", cols)
        self.cells: dict[IdCell, tuple[str, int]] = {}  # (row_id, col_id) -> (value, last_seq), cleared ones too

    @classmethod
    def from_snapshot(cls, frame: Frame) -> Replica:
        replica = cls()
        replica.rows = Line.of_ids("r", frame["row_ids"])
        replica.cols = Line.of_ids("c", frame["col_ids"])
        for cell in frame["cells"]:
            replica.rows.locate("snapshot", cell["row_id"], cell["row"])
            replica.cols.locate("snapshot", cell["col_id"], cell["col"])
            replica.cells[(cell["row_id"], cell["col_id"])] = (cell["value"], cell["last_seq"])
        return replica

    def copy(self) -> Replica:
        return copy.deepcopy(self)

    def apply(self, event: Frame) -> None:
        """Apply one event (the next seq), checking that it fits this replica exactly."""
        kind, what = event["type"], f"seq {event['seq']} {event['type']}"
        if kind == "CellChanged":
            self.rows.locate(what, event["row_id"], event["row"])
            self.cols.locate(what, event["col_id"], event["col"])
            coord = (event["row_id"], event["col_id"])
            held = self.cells.get(coord, ("", 0))[0]
            if event["old_value"] != held:
                raise ReplicaError(f"{what}: old_value {event['old_value']!r}, but the cell holds {held!r}")
            self.cells[coord] = (event["new_value"], event["seq"])
            return
        axis, ids_field, position_field = STRUCTURE[kind]
        line = self.rows if axis == "rows" else self.cols
        ids = list(event[ids_field])
        if kind.endswith("Inserted"):
            line.insert(what, ids, event[position_field], event["after"])
        else:
            line.delete(what, ids, list(event[position_field]))
            gone, index = set(ids), 0 if axis == "rows" else 1
            self.cells = {coord: cell for coord, cell in self.cells.items() if coord[index] not in gone}

    def row_ids(self) -> list[str]:
        return self.rows.ids()

    def col_ids(self) -> list[str]:
        return self.cols.ids()

    def value(self, row_id: str, col_id: str) -> str:
        return self.cells.get((row_id, col_id), ("", 0))[0]

    def listed_cells(self) -> list[dict[str, Any]]:
        """The non-empty cells, as GET /api/sheets/<name>/cells/ and the snapshot frame list them (row-major)."""
        row_at = {id_: index for index, id_ in enumerate(self.rows.ids())}
        col_at = {id_: index for index, id_ in enumerate(self.cols.ids())}
        listed = [
            {"row_id": row_id, "col_id": col_id, "row": row_at[row_id], "col": col_at[col_id], "value": value,
             "last_seq": seq}
            for (row_id, col_id), (value, seq) in self.cells.items()
            if value != "" and row_id in row_at and col_id in col_at
        ]
        return sorted(listed, key=lambda cell: (cell["row"], cell["col"]))

    def state(self) -> dict[str, Any]:
        """What a comparison with the server needs: the live ids in order and the non-empty cells."""
        return {"row_ids": self.row_ids(), "col_ids": self.col_ids(), "cells": self.listed_cells()}


class SheetClient(ProtocolClient):
    """A replica of one sheet fed by a websocket, applying events exactly as a careful client must.

    ``applied`` lists the events applied after ``snapshot_head`` (0 unless a
    snapshot frame came): ``applied[i]`` is the event with seq
    ``snapshot_head + i + 1``. ``snapshots`` keeps every snapshot frame.
    """

    raise_errors = True

    def __init__(self, server: DaphneServer, sheet: str, sessionid: str, *, name: str = "client",
                 shape: Shape | None = None) -> None:
        super().__init__(name=name, timeout=RECV_TIMEOUT)
        self.server = server
        self.sheet = sheet
        self.sessionid = sessionid
        self.last_seq = 0
        self.applied: list[dict[str, Any]] = []
        self.seen: dict[int, dict[str, Any]] = {}  # every event ever received, to check re-deliveries
        self.caught_up_heads: list[int] = []
        self.snapshots: list[Frame] = []
        self.snapshot_head = 0
        self._base = Replica(shape)  # the state at snapshot_head
        self.replica = self._base.copy()
        self._reader: asyncio.Task[None] | None = None

    def describe(self) -> str:
        return f"{self.name} at seq {self.last_seq} on {self.server.name}"

    @property
    def path(self) -> str:
        return sheet_path(self.sheet)

    async def connect(self, server: DaphneServer | None = None) -> None:
        self.server = server or self.server
        self.transport = await open_websocket(self.server, self.path, sessionid=self.sessionid, timeout=RECV_TIMEOUT)

    async def disconnect(self) -> None:
        await self.stop_reading()
        await self.close()

    async def subscribe(self, since: int | None = None, timeout: float | None = RECV_TIMEOUT) -> list[Frame]:
        """Subscribe from ``since`` (default: the last applied seq) and return every frame up to ``caught_up``.

        A ``since`` below the last applied seq rewinds the replica to that
        seq first, so the replay must deliver those events again.
        """
        frames = await super().subscribe(self.last_seq if since is None else since, timeout=timeout)
        assert frames[-1]["head"] == self.last_seq, f"{self.name}: caught_up {frames[-1]['head']} != {self.last_seq}"
        return frames

    async def send_subscribe(self, since: int | None = None) -> None:
        """Rewind to ``since`` (default: the last applied seq) and ask for the replay, reading nothing yet."""
        since = self.last_seq if since is None else since
        self.rewind(since)
        await super().send_subscribe(since)

    async def reconnect(self, since: int | None = None, server: DaphneServer | None = None) -> list[Frame]:
        await self.disconnect()
        await self.connect(server)
        return await self.subscribe(since)

    def start_reading(self) -> None:
        """Apply every incoming frame in the background until ``stop_reading`` or ``disconnect``."""
        assert self._reader is None, f"{self.name} is already reading"
        self._reader = asyncio.create_task(self._read_forever(), name=f"{self.name} reader")

    async def stop_reading(self) -> None:
        """Stop the background reader, raising whatever failed it (a gap, a duplicate, an error frame)."""
        reader, self._reader = self._reader, None
        if reader is None:
            return
        if not reader.done():
            # Cancelling a pending websockets recv() loses no frame.
            reader.cancel()
        await asyncio.wait([reader])
        if not reader.cancelled() and (failure := reader.exception()) is not None:
            raise failure

    async def _read_forever(self) -> None:
        while True:
            await self.receive(timeout=None)

    def rewind(self, since: int) -> None:
        """Forget the events after ``since``, as a client that only kept state up to ``since`` would."""
        assert self.snapshot_head <= since <= self.last_seq, (
            f"{self.name}: cannot rewind from {self.last_seq} to {since} (snapshot at {self.snapshot_head})"
        )
        if since == self.last_seq:
            return
        del self.applied[since - self.snapshot_head:]
        self.last_seq = since
        self.replica = self._base.copy()
        for event in self.applied:
            self.replica.apply(event)

    async def wait_for_seq(self, seq: int, timeout: float = RECV_TIMEOUT) -> None:
        """Read frames until every event up to ``seq`` has been applied."""
        await self.wait(lambda: self.last_seq >= seq, what=f"seq {seq}", timeout=timeout)

    async def next_frame(self, timeout: float | None = RECV_TIMEOUT) -> Frame:
        """Receive one frame and apply it; an error frame fails the test."""
        return await self.receive(timeout)

    # What each frame does to the replica.

    async def on_events(self, events: list[Frame]) -> None:
        assert events, f"{self.name}: empty events frame"
        for event in events:
            self.apply(event)

    async def on_caught_up(self, head: int) -> None:
        self.caught_up_heads.append(head)

    async def on_snapshot(self, frame: Frame) -> None:
        """Replace the whole replica with the snapshot's (a cell it does not list is empty)."""
        head = frame["head"]
        assert head >= self.last_seq, f"{self.name}: snapshot at {head} while at seq {self.last_seq}"
        self.snapshots.append(frame)
        self._base = Replica.from_snapshot(frame)
        self.replica = self._base.copy()
        self.snapshot_head = self.last_seq = head
        self.applied = []

    async def on_unknown(self, frame: Frame) -> None:
        raise AssertionError(f"{self.name}: unexpected frame {frame}")

    def apply(self, event: dict[str, Any]) -> None:
        """Apply one event; it must be exactly the next seq, fit the replica, and equal any earlier copy."""
        seq = event["seq"]
        assert seq == self.last_seq + 1, (
            f"{self.name}: got seq {seq} after {self.last_seq} ({'duplicate' if seq <= self.last_seq else 'gap'})"
        )
        assert event["type"] in EVENT_TYPES and event["sheet"] == self.sheet, f"{self.name}: foreign event {event}"
        earlier = self.seen.setdefault(seq, event)
        assert earlier == event, f"{self.name}: seq {seq} changed between deliveries: {earlier} then {event}"
        try:
            self.replica.apply(event)
        except ReplicaError as exc:
            raise AssertionError(f"{self.name}: {exc}") from None
        self.applied.append(event)
        self.last_seq = seq

    def cells(self) -> list[dict[str, Any]]:
        """Return the replica's non-empty cells in the shape of GET /api/sheets/<name>/cells/."""
        return self.replica.listed_cells()

    def state(self) -> dict[str, Any]:
        """The replica's head, live row and column ids in order, and non-empty cells."""
        return {"head": self.last_seq, **self.replica.state()}


def cells_of(applied: list[dict[str, Any]], shape: Shape | None = None) -> list[dict[str, Any]]:
    """Return the non-empty cells ``applied`` (every event from seq 1, in order) leave, as the cells API lists them."""
    replica = Replica(shape)
    for event in applied:
        replica.apply(event)
    return replica.listed_cells()
