"""Writes about sheets and access rights (never cells: those go through sheets.writes)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ledger.services import create_stream
from sheets.broadcast.announce import notify_sheet_from_sync
from sheets.exceptions import LastOwner, MemberNotFound, NameTaken, NotOwner, SheetError
from sheets.models import Membership, Role, Sheet, SheetState
from sheets.selectors import get_user, role_for


@transaction.atomic
def check_new_name(*, name: str, title: str = "") -> Sheet:
    """Return an unsaved sheet of that name and title; raise NameTaken, or SheetError for a malformed one."""
    taken = Sheet.objects.filter(name=name).values_list("state", flat=True).first()
    if taken == SheetState.FAILED:
        # Its partial ledger stays (events are never deleted) under this name, which every event's hash includes.
        raise NameTaken(f"a sheet named {name!r} was being imported and its import failed; the name cannot be used again")
    if taken == SheetState.IMPORTING:
        raise NameTaken(f"a sheet named {name!r} is being imported")
    if taken is not None:
        raise NameTaken(f"a sheet named {name!r} already exists")
    sheet = Sheet(name=name, title=title or name)
    try:
        sheet.full_clean(exclude=["stream"])
    except ValidationError as exc:
        raise SheetError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())) from None
    return sheet


def create_sheet(
    *, name: str, rows: int, cols: int, title: str = "", owner_username: str | None = None,
    state: SheetState = SheetState.READY,
) -> Sheet:
    """Create an empty sheet of ``rows`` x ``cols``, optionally with an owner (``state``: see sheets.imports).

    Its rows and columns get implicit ids (r0, r1, … and c0, c1, …) and no
    event: a million-row sheet costs its stream two numbers.
    """
    owner = get_user(username=owner_username) if owner_username else None
    sheet = check_new_name(name=name, title=title)
    sheet.state = state
    problems = [
        f"{noun}: must be from 1 to {limit:,}, got {count}"
        for noun, count, limit in (("rows", rows, settings.SHEETS_MAX_ROWS), ("cols", cols, settings.SHEETS_MAX_COLS))
        if not 1 <= count <= limit
    ]
    if problems:
        raise SheetError("; ".join(problems))
    sheet.stream = create_stream(name=name, rows=rows, cols=cols)
    try:
        # A savepoint: the unique name refuses the loser of two concurrent creations.
        with transaction.atomic():
            sheet.save()
    except IntegrityError:
        raise NameTaken(f"a sheet named {name!r} already exists") from None
    if owner is not None:
        Membership.objects.create(sheet=sheet, user=owner, role=Role.OWNER)
    return sheet


@transaction.atomic
def grant(*, sheet: Sheet, username: str, role: str) -> Membership:
    """Give a user a role on a sheet, replacing any role they had."""
    if role not in Role.values:
        raise SheetError(f"role must be one of {', '.join(Role.values)}, not {role!r}")
    user = get_user(username=username)
    membership, _ = Membership.objects.update_or_create(sheet=sheet, user=user, defaults={"role": role})
    transaction.on_commit(partial(announce_access_change, sheet_id=sheet.pk))
    return membership


@transaction.atomic
def revoke(*, sheet: Sheet, username: str) -> bool:
    """Take away a user's role on a sheet; their open sockets on it close. Return whether they had one."""
    deleted, _ = Membership.objects.filter(sheet=sheet, user=get_user(username=username)).delete()
    if deleted:
        transaction.on_commit(partial(announce_access_change, sheet_id=sheet.pk))
    return bool(deleted)


def _guard_members(*, sheet: Sheet, actor: Any, username: str, new_role: str | None) -> None:
    """Lock the sheet's memberships; refuse an actor who is not an owner, and a change that leaves no owner."""
    # Locking the sheet's row serialises the membership changes of one sheet:
    # two owners demoting each other at once must not leave it with none.
    Sheet.objects.select_for_update().filter(pk=sheet.pk).first()
    if role_for(user=actor, sheet_id=sheet.pk) != Role.OWNER:
        raise NotOwner(f"only an owner of sheet {sheet.name!r} may change its members")
    if new_role == Role.OWNER:
        return
    owners = set(Membership.objects.filter(sheet=sheet, role=Role.OWNER).values_list("user__username", flat=True))
    if owners == {username}:
        raise LastOwner(f"{username} is the last owner of sheet {sheet.name!r}: make someone else an owner first")


@transaction.atomic
def set_role(*, sheet: Sheet, actor: Any, username: str, role: str) -> Membership:
    """An owner gives ``username`` a role on the sheet (replacing theirs); a sheet always keeps an owner."""
    if role not in Role.values:
        raise SheetError(f"role must be one of {', '.join(Role.values)}, not {str(role)[:40]!r}")
    get_user(username=username)
    _guard_members(sheet=sheet, actor=actor, username=username, new_role=role)
    return grant(sheet=sheet, username=username, role=role)


@transaction.atomic
def remove_member(*, sheet: Sheet, actor: Any, username: str) -> None:
    """An owner takes ``username``'s role away (their sockets on the sheet close); a sheet always keeps an owner."""
    get_user(username=username)
    _guard_members(sheet=sheet, actor=actor, username=username, new_role=None)
    if not revoke(sheet=sheet, username=username):
        raise MemberNotFound(f"{username} has no role on sheet {sheet.name!r}")


def revoke_memberships(memberships: Iterable[Membership]) -> None:
    """Delete the given memberships (the admin's delete), closing their holders' sockets."""
    with transaction.atomic():
        sheet_ids = set()
        for membership in memberships:
            sheet_ids.add(membership.sheet_id)
            membership.delete()
        for sheet_id in sheet_ids:
            transaction.on_commit(partial(announce_access_change, sheet_id=sheet_id))


def announce_access_change(*, sheet_id: int) -> None:
    """Ask every open socket on the sheet to read its user's rights again (sheets.live.consumer closes the revoked)."""
    notify_sheet_from_sync(sheet_id=sheet_id, message={"type": "sheet.access"}, what="an access change")
