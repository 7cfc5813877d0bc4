from django.core.management.base import BaseCommand, CommandError, CommandParser

from sheets.exceptions import SheetError
from sheets.tokens import create_token_for


class Command(BaseCommand):
    help = "Make a personal API token for USERNAME and print it (once: only its hash is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, shown on the account page")

    def handle(self, *args: object, **options: object) -> None:
        try:
            made = create_token_for(username=str(options["username"]), name=str(options["name"] or "command line"))
        except SheetError as exc:
            raise CommandError(str(exc)) from None
        # The token alone on stdout, so that a script can capture it; the rest on stderr.
        self.stderr.write(f"token {made.token.name!r} for {made.token.user}; it is shown only now:")
        self.stdout.write(made.secret)
