"""Spreadsheet cell notation: (row 3, col 1) is B4."""

from __future__ import annotations

import re

A1_PATTERN = re.compile(r"^([A-Za-z]{1,3})([1-9][0-9]{0,6})$")


def column_name(col: int) -> str:
    """Return the letters of a 0-based column: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    col += 1
    while col:
        col, remainder = divmod(col - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def a1(row: int, col: int) -> str:
    """Return the A1 name of a 0-based (row, col)."""
    return f"{column_name(col)}{row + 1}"


def parse_a1(text: str) -> tuple[int, int]:
    """Return the 0-based (row, col) of an A1 name; raise ValueError on anything else."""
    match = A1_PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"{text[:20]!r} is not a cell name like B4")
    col = 0
    for letter in match.group(1).upper():
        col = col * 26 + (ord(letter) - ord("A") + 1)
    return int(match.group(2)) - 1, col - 1
