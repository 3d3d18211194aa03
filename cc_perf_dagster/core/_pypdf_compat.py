"""The one place that touches pypdf internals.

pypdf's public ``extract_text(visitor_text=...)`` merges every fragment drawn on the same
line inside one ``BT``/``ET`` block into one string, in content-stream order, positioned at
the first fragment. Cells drawn out of visual order then come back scrambled. pypdf's
layout mode computes what this project needs, one entry per text-showing operator with
its start and end x, but only exposes the final fixed-width string. This module calls the
layout-mode building blocks directly. It is pinned by the ``pypdf`` range in
``pyproject.toml`` and covered by the engine tests; if a pypdf release moves these
functions, the tests fail here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from pypdf import PageObject
from pypdf._text_extraction._layout_mode._fixed_width_page import (
    recurse_to_target_op,
    set_font_operation,
)
from pypdf._text_extraction._layout_mode._text_state_manager import TextStateManager
from pypdf.generic import ArrayObject, ContentStream, StreamObject


def text_show_operations(page: PageObject) -> list[Any]:
    """Return one record per text-showing operator of the page's content stream.

    Each record has ``text``, ``tx``/``ty`` (start, page space), ``displaced_tx`` (end x),
    ``font_height`` and ``rotated``. Text in form XObjects is not visited.
    """
    contents = page.get("/Contents")
    if contents is not None:
        contents = contents.get_object()
    if not isinstance(contents, (ArrayObject, StreamObject)):
        return []
    fonts = page._layout_mode_fonts()
    ops = iter(ContentStream(contents, page.pdf, "bytes").operations)
    state = TextStateManager()
    shown: list[Any] = []
    for operands, op in ops:
        if op in (b"BT", b"q"):
            _, tj_ops = recurse_to_target_op(ops, state, b"ET" if op == b"BT" else b"Q", fonts, True)
            shown.extend(tj_ops)
        elif op == b"Tf":
            set_font_operation(state, fonts, operands)
        else:
            state.set_state_param(op, operands)
    return shown
