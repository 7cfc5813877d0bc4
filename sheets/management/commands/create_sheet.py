from django.core.management.base import BaseCommand, CommandError, CommandParser

from sheets.exceptions import SheetError
from sheets.services import create_sheet


class Command(BaseCommand):
    help = "Create an empty sheet of ROWS x COLS cells, optionally owned by a user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="sheet name: letters, digits, _ and -, at most 64")
        parser.add_argument("--rows", type=int, required=True)
        parser.add_argument("--cols", type=int, required=True)
        parser.add_argument("--owner", help="username of the sheet's owner")
        parser.add_argument("--title", default="", help="display title (default: the name)")

    def handle(self, *args: object, **options: object) -> None:
        try:
            sheet = create_sheet(
                name=str(options["name"]),
                rows=int(options["rows"]),  # type: ignore[call-overload]
                cols=int(options["cols"]),  # type: ignore[call-overload]
                title=str(options["title"] or ""),
                owner_username=options["owner"] and str(options["owner"]),  # type: ignore[arg-type]
            )
        except SheetError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"created sheet {sheet.name} ({sheet.stream.rows} rows x {sheet.stream.cols} cols)")
