"""The one JSON encoding of every server frame.

orjson writes the same compact, non-ASCII-escaping JSON as
``json.dumps(ensure_ascii=False, separators=(",", ":"))`` for the types a
frame holds (str, int, bool, None, list, dict), in C: the frames of a
replay or a paste are thousands of events long (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import orjson


def encode_frame(frame: Any) -> bytes:
    """Return ``frame`` as UTF-8 JSON bytes."""
    return orjson.dumps(frame)


def frame_text(frame: Any) -> str:
    """Return ``frame`` as JSON text, ready for ``send(text_data=...)``."""
    return orjson.dumps(frame).decode("utf-8")
