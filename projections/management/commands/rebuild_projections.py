from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger.management.streams import streams_of
from ledger.progress import Progress
from projections.rebuild import CellDifference, OrderDifference, check_sheet, rebuild_sheet


def describe(difference: CellDifference) -> str:
    """Say how one cell of the table differs from the ledger."""
    where = f"cell ({difference.row_id}, {difference.col_id})"
    stored, expected = difference.stored, difference.expected
    table = "no row" if stored is None else f"{stored.value!r} (last_seq {stored.last_seq})"
    ledger = "never edited" if expected is None else f"{expected.value!r} (last_seq {expected.last_seq})"
    return f"{where}: table has {table}, ledger says {ledger}"


def describe_order(difference: OrderDifference, shown: int = 8) -> str:
    """Say where the stored order of rows (columns) first departs from the ledger's ("~" marks a deleted one)."""
    stored, expected = difference.stored, difference.expected
    at = next((i for i, (a, b) in enumerate(zip(stored, expected, strict=False)) if a != b), min(len(stored), len(expected)))
    return (
        f"the order of {difference.axis} differs from position {at} (of {len(stored)} stored, {len(expected)} in the"
        f" ledger, tombstones included): table has {stored[at:at + shown]}, ledger says {expected[at:at + shown]}"
    )


class Command(BaseCommand):
    help = (
        "Rebuild the cells table and the order of rows and columns of every sheet (or one sheet) from the ledger"
        " and drop its time-travel snapshots"
        " (time travel takes them again as it goes; --snapshots takes them all now)."
        " With --check, write nothing: print every difference and exit non-zero if there is any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="the sheet to rebuild (default: every sheet)")
        parser.add_argument("--check", action="store_true", help="compare only; exit non-zero on any difference")
        parser.add_argument(
            "--snapshots",
            action="store_true",
            help="also take every time-travel snapshot now, by a fold of the whole ledger (slow on long ledgers)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sheets = streams_of(options["name"])
        if options["check"]:
            if options["snapshots"]:
                raise CommandError("--check compares every stored snapshot already; --snapshots is for a rebuild")
            self._check(sheets)
        else:
            self._rebuild(sheets, snapshots=options["snapshots"])

    def _rebuild(self, sheets: list[tuple[int, str, int]], *, snapshots: bool) -> None:
        for stream_id, name, head in sheets:
            progress = Progress(self.stdout, label=f"rebuilding {name}", total=head)
            report = rebuild_sheet(stream_id=stream_id, snapshots=snapshots, on_progress=progress.update)
            progress.close()
            if snapshots:
                taken = f"{report.snapshots} snapshots taken"
            else:
                taken = f"{report.dropped} snapshots dropped (time travel takes them again)"
            self.stdout.write(
                f"{name}: {report.cells:,} cell{'' if report.cells == 1 else 's'}, {report.rows:,} rows"
                f" x {report.cols:,} columns as of seq {report.head},"
                f" {taken}"
            )
        self.stdout.write(self.style.SUCCESS(f"rebuilt {len(sheets)} sheet(s)"))

    def _check(self, sheets: list[tuple[int, str, int]]) -> None:
        dirty = []
        for stream_id, name, head in sheets:
            progress = Progress(self.stdout, label=f"checking {name}", total=head)
            report = check_sheet(stream_id=stream_id, on_progress=progress.update)
            progress.close()
            for order in report.order:
                self.stdout.write(f"{name}: {describe_order(order)}")
            for difference in report.cells:
                self.stdout.write(f"{name}: {describe(difference)}")
            for seq in report.snapshots:
                self.stdout.write(f"{name}: snapshot at seq {seq} differs from the fold of the ledger")
            if report.clean:
                self.stdout.write(f"{name}: cells, order and snapshots match the ledger at seq {report.head}")
            else:
                reorder = f", the order of {' and '.join(o.axis for o in report.order)}" if report.order else ""
                dirty.append(f"{name} ({len(report.cells)} cell(s), {len(report.snapshots)} snapshot(s){reorder})")
        if dirty:
            raise CommandError(f"the projection differs from the ledger for: {', '.join(dirty)}")
        self.stdout.write(self.style.SUCCESS(f"checked {len(sheets)} sheet(s): no difference"))
