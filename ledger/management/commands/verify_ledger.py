from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger.progress import Progress
from ledger.verify import SheetReport, verify_sheet
from sheets.models import Sheet


class Command(BaseCommand):
    help = (
        "Check every sheet's ledger (or one sheet's): seqs 1..head without gaps, an unbroken hash chain,"
        " and a head that matches. Exits non-zero naming the sheet and the first bad seq."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="the sheet to check (default: every sheet)")

    def handle(self, *args: Any, **options: Any) -> None:
        sheets = Sheet.objects.order_by("name").values_list("pk", "name", "head")
        if options["name"] is not None:
            sheets = sheets.filter(name=options["name"])
            if not sheets.exists():
                raise CommandError(f"no sheet named {options['name']!r}")
        failures: list[SheetReport] = []
        total_events = 0
        count = 0
        for sheet_id, name, head in sheets:
            progress = Progress(self.stdout, label=f"verifying {name}", total=head)
            report = verify_sheet(sheet_id=sheet_id, on_progress=progress.update)
            progress.close()
            count += 1
            total_events += report.checked
            if report.finding is None:
                self.stdout.write(f"{name}: ok, {report.checked:,} events, head {report.head}")
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
