"""A deterministic rendering of a PDF object, for content hashes: the same content, the same text.

Object numbers are left out (two files of the same page hash the same); so are the keys that
say nothing of what a page reads (a font's embedded program, its ``/Parent``, a stream's
``/Length`` and filters: its decoded data is hashed instead).
"""

from __future__ import annotations

import hashlib
from typing import Any

_SKIPPED_FONT_KEYS = frozenset({"/FontFile", "/FontFile2", "/FontFile3", "/Parent"})


def canonical(obj: Any, depth: int = 0) -> str:
    """A deterministic rendering of a PDF object without object numbers.

    Objects are pypdf's or :mod:`~cc_perf_dagster.core.pdf_objects`' (the same rendering for
    both): a stream is a dictionary with ``get_data``, an array a list.
    """
    if depth > 8:
        return "…"
    obj = obj.get_object() if hasattr(obj, "get_object") else obj
    if isinstance(obj, dict) and hasattr(obj, "get_data"):
        inner = _canonical_dict(obj, depth)
        return f"stream{inner}:{hashlib.sha256(obj.get_data()).hexdigest()}"
    if isinstance(obj, dict):
        return _canonical_dict(obj, depth)
    if isinstance(obj, list):
        return "[" + ",".join(canonical(v, depth + 1) for v in obj) + "]"
    return repr(obj)


def _canonical_dict(obj: Any, depth: int) -> str:
    items = (
        f"{key}={canonical(obj.raw_get(key), depth + 1)}"
        for key in sorted(obj)
        if key not in _SKIPPED_FONT_KEYS and key not in ("/Length", "/Filter", "/DecodeParms")
    )
    return "{" + ",".join(items) + "}"
