from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from sheets.models import Role, Sheet
from sheets.services import create_sheet, grant

DEMO_USERS = (("alice", Role.OWNER), ("bob", Role.EDITOR), ("carol", Role.VIEWER))


class Command(BaseCommand):
    help = "Create the demo users and the demo sheet if they are missing (used by `make run`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="ledgersheet-demo")
        parser.add_argument("--sheet", default="demo")

    def handle(self, *args: object, **options: object) -> None:
        User = get_user_model()
        password = str(options["password"])
        for username, _role in DEMO_USERS:
            if not User.objects.filter(username=username).exists():
                User.objects.create_user(username=username, password=password)
        name = str(options["sheet"])
        if not Sheet.objects.filter(name=name).exists():
            create_sheet(name=name, rows=200, cols=26, title="Demo budget")
        sheet = Sheet.objects.get(name=name)
        for username, role in DEMO_USERS:
            grant(sheet=sheet, username=username, role=role)
        self.stdout.write(
            f"demo sheet '{name}': log in as alice (owner), bob (editor) or carol (viewer), password '{password}'"
        )
