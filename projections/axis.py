"""The order of a sheet's rows, or of its columns: a pure value, tombstones included.

No ORM, clock or I/O: the fold (inline, rebuild, time travel, property
tests) places rows with these functions alone.

A sheet starts with ``n`` rows whose ids are implicit, ``r0`` … ``r{n-1}``
(columns ``c0`` …), so that creating a million-row sheet stores no id and
appends no event, and so that a ledger written before rows had ids maps
each old position to an id without rewriting an event (docs/architecture.md,
decision 12). Inserted rows carry the ids their client chose. A deleted row
stays where it stood as a tombstone: a later insert ``after`` it goes there,
and its id is never used again.

The order is a tuple of runs, each a stretch of consecutive implicit ids or
a list of inserted ones, all live or all deleted. A structure operation
splits at most a run or two, so the runs grow with the number of
operations, not with the size of the sheet.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.hashing import COL_PREFIX, ROW_PREFIX

__all__ = ["COL_PREFIX", "ROW_PREFIX", "Axis", "NotInAxis", "Run"]

_IMPLICIT = re.compile(r"^([a-z])(0|[1-9][0-9]{0,8})$")


@dataclass(frozen=True, slots=True)
class Run:
    """Ids ``prefix+start`` … ``prefix+(stop-1)`` when ``ids`` is None, else exactly ``ids``."""

    start: int = 0
    stop: int = 0
    ids: tuple[str, ...] | None = None
    deleted: bool = False

    def __len__(self) -> int:
        return len(self.ids) if self.ids is not None else self.stop - self.start

    def id_at(self, prefix: str, offset: int) -> str:
        return self.ids[offset] if self.ids is not None else f"{prefix}{self.start + offset}"

    def all_ids(self, prefix: str) -> Iterator[str]:
        if self.ids is not None:
            yield from self.ids
        else:
            for index in range(self.start, self.stop):
                yield f"{prefix}{index}"

    def part(self, begin: int, end: int, *, deleted: bool | None = None) -> Run:
        """Return offsets ``begin`` … ``end - 1`` of this run, deleted or not as asked (default: as it is)."""
        flag = self.deleted if deleted is None else deleted
        if self.ids is not None:
            return Run(ids=self.ids[begin:end], deleted=flag)
        return Run(start=self.start + begin, stop=self.start + end, deleted=flag)


class NotInAxis(KeyError):
    """An id that is not a live row (or column) of the axis."""


@dataclass(frozen=True, slots=True)
class Axis:
    """The rows (or columns) of a sheet in order, tombstones included."""

    prefix: str
    runs: tuple[Run, ...]
    # The index of the ids, built on first use: an axis is a value, so it never goes stale.
    _index: _Locator | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    @classmethod
    def created(cls, prefix: str, count: int) -> Axis:
        """The axis of a new sheet: ``count`` implicit ids."""
        return cls(prefix=prefix, runs=(Run(start=0, stop=count),) if count else ())

    # Reading

    def __len__(self) -> int:
        """How many live rows there are: positions run from 0 to len - 1."""
        return sum(len(run) for run in self.runs if not run.deleted)

    def ids(self) -> list[str]:
        """The live ids in order."""
        return [id_ for run in self.runs if not run.deleted for id_ in run.all_ids(self.prefix)]

    def window(self, first: int, count: int) -> list[str]:
        """The live ids at positions ``first`` … ``first + count - 1`` (fewer past the end)."""
        found: list[str] = []
        skip = first
        for run in self.runs:
            if run.deleted or count <= len(found):
                continue
            if skip >= len(run):
                skip -= len(run)
                continue
            take = min(len(run) - skip, count - len(found))
            found.extend(run.id_at(self.prefix, offset) for offset in range(skip, skip + take))
            skip = 0
        return found

    def id_at(self, position: int) -> str | None:
        """The live id at ``position``, or None outside the axis."""
        if position < 0:
            return None
        found = self.window(position, 1)
        return found[0] if found else None

    def _locator(self) -> _Locator:
        index = self._index
        if index is None:
            index = _Locator(self)
            object.__setattr__(self, "_index", index)
        return index

    def live_positions(self) -> dict[str, int]:
        """Every live id and its position (a dict as large as the axis: for whole-sheet reads)."""
        return {id_: position for position, id_ in enumerate(self.ids())}

    def tombstones(self) -> list[str]:
        """The deleted ids, in the order they stand."""
        return [id_ for run in self.runs if run.deleted for id_ in run.all_ids(self.prefix)]

    # Stored form (projections.models.Order, snapshots): JSON, one object a run

    def encode(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for run in self.runs:
            item: dict[str, Any] = {"ids": list(run.ids)} if run.ids is not None else {"from": run.start, "to": run.stop}
            if run.deleted:
                item["deleted"] = True
            out.append(item)
        return out

    @classmethod
    def decode(cls, prefix: str, data: Sequence[dict[str, Any]]) -> Axis:
        runs = []
        for item in data:
            deleted = bool(item.get("deleted", False))
            if "ids" in item:
                runs.append(Run(ids=tuple(str(id_) for id_ in item["ids"]), deleted=deleted))
            else:
                runs.append(Run(start=int(item["from"]), stop=int(item["to"]), deleted=deleted))
        return cls(prefix=prefix, runs=tuple(runs))

    def _locate(self, id_: str) -> tuple[int, int] | None:
        """Return (run index, offset) of ``id_``, live or deleted, or None if the axis never had it."""
        return self._locator().locate(id_)

    def has_ever(self, id_: str) -> bool:
        """Whether ``id_`` is or was a row of this axis (ids are never reused)."""
        return self._locate(id_) is not None

    def is_live(self, id_: str) -> bool:
        found = self._locate(id_)
        return found is not None and not self.runs[found[0]].deleted

    def positions(self, ids: Iterable[str]) -> dict[str, int]:
        """Return the position of each of ``ids``; raise NotInAxis naming those that are not live."""
        locator = self._locator()
        found: dict[str, int] = {}
        missing: list[str] = []
        for id_ in ids:
            located = locator.locate(id_)
            if located is None or self.runs[located[0]].deleted:
                missing.append(id_)
            else:
                found[id_] = locator.position(located)
        if missing:
            raise NotInAxis(sorted(set(missing)))
        return found

    def _position_of(self, located: tuple[int, int]) -> int:
        index, offset = located
        return sum(len(run) for run in self.runs[:index] if not run.deleted) + offset

    # Changing: each returns a new axis and the positions the event records

    def insert(self, *, after: str | None, ids: Sequence[str]) -> tuple[Axis, int]:
        """Insert ``ids`` right after ``after`` (live or deleted; None: the very top); return the new axis and the
        position of the first of them.

        The caller has checked that ``after`` was ever in the axis and that
        no id of ``ids`` was.
        """
        new = Run(ids=tuple(ids))
        if after is None:
            return Axis(self.prefix, _merged((new, *self.runs))), 0
        located = self._locate(after)
        if located is None:
            raise NotInAxis([after])
        index, offset = located
        run = self.runs[index]
        pieces = [run.part(0, offset + 1), new]
        if offset + 1 < len(run):
            pieces.append(run.part(offset + 1, len(run)))
        runs = (*self.runs[:index], *pieces, *self.runs[index + 1 :])
        first = self._position_of((index, 0)) + (0 if run.deleted else offset + 1)
        return Axis(self.prefix, _merged(runs)), first

    def delete(self, ids: Iterable[str]) -> tuple[Axis, list[int]]:
        """Turn the live ``ids`` into tombstones; return the new axis and their positions just before, ascending."""
        wanted = list(ids)
        positions = self.positions(wanted)
        locator = self._locator()
        offsets: dict[int, set[int]] = {}
        for id_ in wanted:
            located = locator.locate(id_)
            assert located is not None
            offsets.setdefault(located[0], set()).add(located[1])
        runs: list[Run] = []
        for index, run in enumerate(self.runs):
            doomed = offsets.get(index)
            if not doomed:
                runs.append(run)
                continue
            # Walk the doomed offsets, not the run: one row of a million-row run is one split.
            begin = 0
            for start, stop in _stretches(sorted(doomed)):
                runs.append(run.part(begin, start))
                runs.append(run.part(start, stop, deleted=True))
                begin = stop
            runs.append(run.part(begin, len(run)))
        return Axis(self.prefix, _merged(runs)), sorted(positions.values())


class _Locator:
    """Finds ids in an axis: a dict of the inserted ids, a search of the implicit runs, positions by prefix sums."""

    def __init__(self, axis: Axis) -> None:
        self.axis = axis
        self.implicit: list[tuple[int, int, int]] = []  # (start, stop, run index), ascending by start
        self.live_before: list[int] = []
        # Every inserted id, tombstones included, numbered in axis order: one dict built in C
        # (a sheet's inserted ids grow with its history), and where each explicit run's numbers start.
        self.explicit_starts: list[int] = []
        self.explicit_runs: list[int] = []
        explicit: list[tuple[str, ...]] = []
        before = numbered = 0
        for index, run in enumerate(axis.runs):
            self.live_before.append(before)
            if not run.deleted:
                before += len(run)
            if run.ids is not None:
                self.explicit_starts.append(numbered)
                self.explicit_runs.append(index)
                explicit.append(run.ids)
                numbered += len(run.ids)
            else:
                self.implicit.append((run.start, run.stop, index))
        self.implicit.sort()
        self.explicit = dict(zip(itertools.chain.from_iterable(explicit), itertools.count()))

    def locate(self, id_: str) -> tuple[int, int] | None:
        number = self.explicit.get(id_)
        if number is not None:
            at = bisect.bisect_right(self.explicit_starts, number) - 1
            return self.explicit_runs[at], number - self.explicit_starts[at]
        match = _IMPLICIT.match(id_)
        if match is None or match.group(1) != self.axis.prefix:
            return None
        number = int(match.group(2))
        at = bisect.bisect_right(self.implicit, (number, _BIG, _BIG)) - 1
        if at >= 0:
            start, stop, index = self.implicit[at]
            if start <= number < stop:
                return index, number - start
        return None

    def position(self, located: tuple[int, int]) -> int:
        index, offset = located
        return self.live_before[index] + offset


_BIG = 1 << 62


def _stretches(offsets: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Yield (start, stop) of each stretch of consecutive numbers in the ascending ``offsets``."""
    start = previous = offsets[0]
    for offset in offsets[1:]:
        if offset != previous + 1:
            yield start, previous + 1
            start = offset
        previous = offset
    yield start, previous + 1


def _merged(runs: Iterable[Run]) -> tuple[Run, ...]:
    """Join neighbouring runs that continue each other (same state, consecutive implicit ids or both explicit)."""
    out: list[Run] = []
    for run in runs:
        if not len(run):
            continue
        if out and out[-1].deleted == run.deleted:
            last = out[-1]
            if last.ids is None and run.ids is None and last.stop == run.start:
                out[-1] = Run(start=last.start, stop=run.stop, deleted=run.deleted)
                continue
            if last.ids is not None and run.ids is not None:
                out[-1] = Run(ids=last.ids + run.ids, deleted=run.deleted)
                continue
        out.append(run)
    return tuple(out)
