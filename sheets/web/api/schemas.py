"""The shapes the API's new endpoints take and give, for validation and for the OpenAPI description."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field


class Strict(Schema):
    # "rows": "5" or "rows": true is a 400, not a sheet of 5 or 1 rows.
    model_config = ConfigDict(strict=True)


class Error(Schema):
    error: str = Field(description="a sentence, or for an operation the error code of docs/protocol.md section 8")
    message: str | None = Field(None, description="for an operation: what went wrong, for a person")


class SheetOut(Schema):
    name: str
    title: str
    row_count: int
    col_count: int
    head: int = Field(description="the sheet's last seq")
    role: str = Field(description="the caller's role: viewer, editor or owner")


class SheetList(Schema):
    sheets: list[SheetOut]


class NewSheet(Strict):
    name: str = Field(description="letters, digits, _ and -, at most 64")
    title: str = Field("", description="defaults to the name")
    rows: int = Field(description="1 to 1,000,000")
    cols: int = Field(description="1 to 18,278")


class Member(Schema):
    username: str
    role: str


class MemberList(Schema):
    members: list[Member]


class RoleIn(Strict):
    role: str = Field(description="viewer, editor or owner")


class Seqs(Schema):
    seqs: list[int] = Field(description="the seqs of the operation's events (the original ones for a retry)")


# The body of POST /api/sheets/<name>/ops/: one operation message, parsed by
# sheets.writes.operations (the websocket's parser), hence described, not modelled.
OPERATION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["type", "client_event_id"],
                    "properties": {
                        "type": {"enum": ["edit", "insert_rows", "delete_rows", "insert_cols", "delete_cols"]},
                        "client_event_id": {"type": "string", "format": "uuid"},
                        "changes": {
                            "type": "array",
                            "description": "edit: 1 to 1,000 changes, each {row_id, col_id, value} or {row, col, value},"
                            " with an optional base_seq",
                            "items": {"type": "object"},
                        },
                        "row_ids": {"type": "array", "items": {"type": "string"}},
                        "col_ids": {"type": "array", "items": {"type": "string"}},
                        "after": {"type": ["string", "null"], "description": "inserts: the id to follow, null for the start"},
                    },
                },
                "examples": {
                    "edit": {"value": {"type": "edit", "client_event_id": "9b2e0d7c-3c1b-4f0e-9d7a-2b6f0c1e5a11",
                                       "changes": [{"row_id": "r3", "col_id": "c1", "value": "12"}]}},
                    "insert_rows": {"value": {"type": "insert_rows", "client_event_id": "5d1e2f4a-8b7c-4d6e-9f00-1a2b3c4d5e6f",
                                              "after": "r41", "row_ids": ["new-row-1"]}},
                },
            }
        },
    }
}
