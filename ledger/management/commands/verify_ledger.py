from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger.management.streams import streams_of
from ledger.progress import Progress
from ledger.verify import StreamReport, verify_stream

ANCHOR = re.compile(r"^([1-9][0-9]*):([0-9a-f]{64})$")


def parse_anchors(values: list[str]) -> dict[int, str]:
    """Read SEQ:HASH pairs; refuse anything else."""
    anchors = {}
    for value in values:
        match = ANCHOR.match(value.strip().lower())
        if match is None:
            raise CommandError(f"--anchor must be SEQ:HASH with a 64-digit hex hash, got {value[:80]!r}")
        anchors[int(match.group(1))] = match.group(2)
    return anchors


class Command(BaseCommand):
    help = (
        "Check every sheet's ledger (or one sheet's): seqs 1..head without gaps, an unbroken hash chain,"
        " and a head that matches. Exits non-zero naming the sheet and the first bad seq."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="the sheet to check (default: every sheet)")
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="a head published earlier (from this command's output); the event at SEQ must still have HASH."
            " Needs NAME; may be given several times.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sheets = streams_of(options["name"])
        anchors = parse_anchors(options["anchor"])
        if anchors and options["name"] is None:
            raise CommandError("--anchor needs the NAME of the sheet it belongs to")
        failures: list[StreamReport] = []
        total_events = 0
        count = 0
        for stream_id, name, head in sheets:
            progress = Progress(self.stdout, label=f"verifying {name}", total=head)
            report = verify_stream(stream_id=stream_id, on_progress=progress.update, anchors=anchors)
            progress.close()
            count += 1
            total_events += report.checked
            if report.finding is None:
                self.stdout.write(f"{name}: ok, {report.checked:,} events, head {report.head}:{report.head_hash}")
            else:
                failures.append(report)
                self.stdout.write(self.style.ERROR(f"{name}: BAD at seq {report.finding.seq}: {report.finding.reason}"))
        summary = f"{count} sheet(s), {total_events:,} events verified"
        if failures:
            details = "; ".join(
                f"sheet {r.sheet}: first bad seq {r.finding.seq}: {r.finding.reason}" for r in failures if r.finding
            )
            raise CommandError(f"ledger verification failed ({summary}): {details}")
        self.stdout.write(self.style.SUCCESS(f"{summary}: every chain is intact"))
