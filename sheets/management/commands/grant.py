from django.core.management.base import BaseCommand, CommandError, CommandParser

from sheets.exceptions import SheetError
from sheets.models import Role
from sheets.selectors import get_sheet
from sheets.services import grant


class Command(BaseCommand):
    help = "Give USERNAME a role on sheet NAME (replacing any role they had)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("username")
        parser.add_argument("role", choices=Role.values)

    def handle(self, *args: object, **options: object) -> None:
        try:
            sheet = get_sheet(name=str(options["name"]))
            membership = grant(sheet=sheet, username=str(options["username"]), role=str(options["role"]))
        except SheetError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{membership.user} is now {membership.role} on {sheet.name}")
