from django.core.management.base import BaseCommand, CommandError, CommandParser

from sheets.exceptions import SheetError
from sheets.selectors import get_sheet
from sheets.services import revoke


class Command(BaseCommand):
    help = "Take away USERNAME's role on sheet NAME; their open sockets on it close (4403)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("username")

    def handle(self, *args: object, **options: object) -> None:
        name, username = str(options["name"]), str(options["username"])
        try:
            had_role = revoke(sheet=get_sheet(name=name), username=username)
        except SheetError as exc:
            raise CommandError(str(exc)) from None
        if not had_role:
            raise CommandError(f"{username} has no role on {name}")
        self.stdout.write(f"{username} no longer has a role on {name}")
