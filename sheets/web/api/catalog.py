"""The sheets a user has, a new sheet, and a sheet's members (docs/protocol.md, section 10)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError, ValidationError
from pydantic import ValidationError as PydanticValidationError

from projections.selectors import sizes
from sheets.imports import import_sheet, read_upload
from sheets.models import Role, Sheet
from sheets.selectors import imports_of, members_of, sheets_for
from sheets.services import check_new_name, create_sheet, remove_member, set_role
from sheets.web.access import sheet_access
from sheets.web.api.schemas import Error, Member, MemberList, NewSheet, RoleIn, SheetList, SheetOut

router = Router(tags=["sheets and members"])


class ImportOut(Schema):
    name: str
    title: str
    state: str = Field(description="importing, or failed (the name stays taken: its partial ledger is kept)")
    row_count: int = Field(description="the rows of the file")
    rows_imported: int = Field(description="the rows whose cells are committed so far")


class SheetCatalog(SheetList):
    importing: list[ImportOut] = Field(
        default_factory=list, description="your imports that are not sheets yet; they are in no other list and open nowhere"
    )


def _listed(entries: list[tuple[Sheet, Role]]) -> list[dict[str, Any]]:
    shapes = sizes(streams=[sheet.stream for sheet, _ in entries])
    return [
        {"name": sheet.name, "title": sheet.title, "row_count": shapes[sheet.stream_id][0],
         "col_count": shapes[sheet.stream_id][1], "head": sheet.head, "role": str(role)}
        for sheet, role in entries
    ]


@router.get("/sheets/", url_name="api-sheets", response={200: SheetCatalog, 401: Error}, summary="The sheets you have a role on")
def sheet_list(request: HttpRequest) -> dict[str, Any]:
    importing = [
        {"name": sheet.name, "title": sheet.title, "state": sheet.state, "row_count": sheet.stream.rows,
         "rows_imported": sheet.rows_imported}
        for sheet in imports_of(user=request.user)
    ]
    return {"sheets": _listed(sheets_for(user=request.user)), "importing": importing}


_NEW_SHEET_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": NewSheet.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["name", "file"],
                "properties": {
                    "name": {"type": "string", "description": "letters, digits, _ and -, at most 64"},
                    "title": {"type": "string", "description": "defaults to the name"},
                    "file": {"type": "string", "format": "binary",
                             "description": "a CSV (UTF-8, any common delimiter) or XLSX file, at most 50 MB"},
                },
            }
        },
    },
}


@router.post(
    "/sheets/", response={201: SheetOut, 400: Error, 401: Error, 409: Error, 413: Error},
    summary="Create a sheet that you own: empty (JSON), or from a CSV or XLSX file (multipart)",
    openapi_extra={"requestBody": _NEW_SHEET_BODY},
)
def new_sheet(request: HttpRequest) -> Status[dict[str, Any]]:
    """Any logged-in user may create a sheet; a taken name is a 409, a file that cannot be read a 400, too big a 413."""
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise HttpError(400, "a multipart request needs a file field: the CSV or XLSX to import")
        name, title = request.POST.get("name", ""), request.POST.get("title", "")
        # The name first: a taken or malformed one refuses the file before it is read.
        check_new_name(name=name)
        grid = read_upload(filename=upload.name or "", data=upload, size=upload.size or 0)
        sheet = import_sheet(name=name, title=title, owner=request.user, grid=grid)
    else:
        try:
            body = NewSheet.model_validate_json(request.body or b"")
        except PydanticValidationError as exc:
            raise ValidationError([{**problem, "loc": ("body", "body", *problem["loc"])} for problem in exc.errors()]) from None
        sheet = create_sheet(
            name=body.name, title=body.title, rows=body.rows, cols=body.cols, owner_username=request.user.get_username()
        )
    (listed,) = _listed([(sheet, Role.OWNER)])
    return Status(201, listed)


@router.get(
    "/sheets/{name}/members/", url_name="api-members", response={200: MemberList, 401: Error, 403: Error, 404: Error},
    summary="Who has which role on the sheet",
)
def members(request: HttpRequest, name: str) -> dict[str, Any]:
    sheet = sheet_access(request, name).sheet
    return {"members": [{"username": username, "role": str(role)} for username, role in members_of(sheet=sheet)]}


_MEMBER_ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error}


@router.put(
    "/sheets/{name}/members/{username}/", url_name="api-member", response={200: Member, **_MEMBER_ERRORS},
    summary="Give a user a role on the sheet (owners only)",
)
def put_member(request: HttpRequest, name: str, username: str, body: RoleIn) -> dict[str, Any]:
    """Replaces any role the user had; a sheet always keeps an owner (409)."""
    sheet = sheet_access(request, name).sheet
    membership = set_role(sheet=sheet, actor=request.user, username=username, role=body.role)
    return {"username": username, "role": str(membership.role)}


@router.delete(
    "/sheets/{name}/members/{username}/", response={204: None, **_MEMBER_ERRORS},
    summary="Take a user's role away (owners only); their open sockets on the sheet close with 4403",
)
def delete_member(request: HttpRequest, name: str, username: str) -> Status[None]:
    sheet = sheet_access(request, name).sheet
    remove_member(sheet=sheet, actor=request.user, username=username)
    return Status(204, None)
