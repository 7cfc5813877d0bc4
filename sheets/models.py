"""Sheets and who may do what on them."""

import re

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

SHEET_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# A row's or a column's id (docs/protocol.md, section 1).
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,36}")
MAX_ROWS = 1_000_000
MAX_COLS = 18_278  # A..ZZZ
# The ids one structure operation (insert_rows, delete_cols, ...) may name.
MAX_STRUCTURE_IDS = 10_000


class SheetState(models.TextChoices):
    READY = "ready", "ready"
    # Being filled from a file in several transactions (sheets.imports): no
    # read, page, socket or list sees it until its last chunk commits.
    IMPORTING = "importing", "importing"
    # An import that failed after its first commit: its events stay (the
    # ledger refuses DELETE), the sheet stays hidden and keeps its name.
    FAILED = "failed", "failed"


class Sheet(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[RegexValidator(SHEET_NAME_PATTERN)])
    title = models.CharField(max_length=200, blank=True)
    # The sheet's events, their seq and the head of their hash chain; the
    # rows and columns it was created with (the order projection has them now).
    stream = models.OneToOneField("ledger.Stream", on_delete=models.PROTECT, related_name="sheet")
    created_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=SheetState.choices, default=SheetState.READY)
    # While importing: the rows of the file whose cells are committed (a progress figure).
    rows_imported = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def head(self) -> int:
        """The sheet's last seq: the head of its stream (loaded with it, or by one more query)."""
        return self.stream.head


class Role(models.TextChoices):
    VIEWER = "viewer", "viewer"
    EDITOR = "editor", "editor"
    OWNER = "owner", "owner"


EDIT_ROLES = frozenset({Role.EDITOR, Role.OWNER})


class Membership(models.Model):
    sheet = models.ForeignKey(Sheet, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sheet_memberships")
    role = models.CharField(max_length=10, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sheet", "user"], name="membership_unique_sheet_user")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} on {self.sheet}"


class ApiToken(models.Model):
    """A personal API token: only the SHA-256 of its secret is kept (sheets.tokens makes and checks them)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # Hex SHA-256 of the whole token: a leaked table gives no usable token.
    digest = models.CharField(max_length=64, unique=True)
    # The token's first characters, shown on the account page to tell tokens apart.
    hint = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…) of {self.user}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
