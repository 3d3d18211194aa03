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
    set_font_operation,
)
from pypdf._text_extraction._layout_mode._text_state_manager import TextStateManager
from pypdf.generic import ArrayObject, ContentStream, StreamObject

MAX_FORM_DEPTH = 4


def text_show_operations(page: PageObject) -> list[Any]:
    """Return one record per text-showing operator of the page's content stream.

    Each record has ``text``, ``tx``/``ty`` (start, page space), ``displaced_tx`` (end x),
    ``font_height`` and ``rotated``. Form XObjects (templates, stamps) are inlined with their
    matrix and fonts, so their text counts like the page's own.
    """
    contents = page.get("/Contents")
    if contents is not None:
        contents = contents.get_object()
    if not isinstance(contents, (ArrayObject, StreamObject)):
        return []
    fonts = page._layout_mode_fonts()
    operations = ContentStream(contents, page.pdf, "bytes").operations
    if any(op == b"Do" for _, op in operations):
        operations = _inline_forms(operations, page.get("/Resources"), fonts, page.pdf, 0)
    ops = iter(operations)
    state = TextStateManager()
    shown: list[Any] = []
    for operands, op in ops:
        if op in (b"BT", b"q"):
            _collect(ops, state, b"ET" if op == b"BT" else b"Q", fonts, shown)
        elif op == b"Tf":
            set_font_operation(state, fonts, operands)
        else:
            state.set_state_param(op, operands)
    return shown


def _collect(ops: Any, state: TextStateManager, end_target: bytes, fonts: dict, shown: list) -> None:
    """Pypdf's ``recurse_to_target_op`` without the fixed-width line building this project never uses.

    Walks the operators up to ``end_target`` (``ET`` or ``Q``), keeping the transform stack and
    the text state, and appends one record per text-showing operator to ``shown``.
    """
    if end_target == b"Q":
        state.add_q()
    for operands, op in ops:
        if op == end_target:
            if op == b"Q":
                state.remove_q()
            else:
                state.reset_tm()
            return
        if op == b"q" or (op == b"BT" and end_target == b"Q"):
            _collect(ops, state, b"ET" if op == b"BT" else b"Q", fonts, shown)
        elif op == b"cm":
            state.add_cm(*operands)
        elif op == b"BT":
            state.reset_tm()  # a BT inside a text object only resets the text matrix
        elif op == b"Tj" and operands and isinstance(operands[0], (str, bytes)):
            shown.append(state.text_state_params(operands[0]))
        elif op == b"TJ" and operands and isinstance(operands[0], ArrayObject):
            last = state.text_state_params()
            for item in operands[0]:
                if isinstance(item, bytes):
                    last = state.text_state_params(item)
                    shown.append(last)
                elif isinstance(item, (int, float)):
                    state.add_trm(last.displacement_matrix(td_offset=item))
        elif op in (b"'", b'"'):
            state.reset_trm()
            if op == b'"' and len(operands) >= 3:
                state.set_state_param(b"Tw", operands[0])
                state.set_state_param(b"Tc", operands[1])
            state.add_tm([0, -state.TL])
            index = 2 if op == b'"' else 0
            if index < len(operands) and isinstance(operands[index], (str, bytes)):
                shown.append(state.text_state_params(operands[index]))
        elif op in (b"Td", b"Tm", b"TD", b"T*"):
            state.reset_trm()
            if op == b"Tm":
                state.reset_tm()
            elif op == b"TD" and len(operands) >= 2 and isinstance(operands[1], (int, float)):
                state.set_state_param(b"TL", -operands[1])
            elif op == b"T*":
                operands = [0, -state.TL]
            state.add_tm(operands)
        elif op == b"Tf":
            set_font_operation(state, fonts, operands)
        else:
            state.set_state_param(op, operands)


def _inline_forms(operations: list, resources: Any, fonts: dict, pdf: Any, depth: int) -> list:
    """Replace each ``/Name Do`` of a form XObject by ``q <Matrix> cm <its operations> Q``.

    The form's fonts are added to ``fonts`` (the page's keep their names on a clash).
    """
    from pypdf.generic import DictionaryObject, NameObject
    from pypdf.generic._font import Font

    resources = resources.get_object() if resources is not None else None
    xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
    xobjects = xobjects.get_object() if xobjects is not None else None
    out: list = []
    for operands, op in operations:
        if op != b"Do" or depth >= MAX_FORM_DEPTH or not isinstance(xobjects, DictionaryObject) or not operands:
            out.append((operands, op))
            continue
        form = xobjects.get(operands[0])
        form = form.get_object() if form is not None else None
        if not isinstance(form, StreamObject) or form.get("/Subtype") != NameObject("/Form"):
            out.append((operands, op))
            continue
        form_resources = form.get("/Resources")
        font_dict = form_resources.get_object().get("/Font") if form_resources is not None else None
        if font_dict is not None:
            for name, ref in font_dict.get_object().items():
                font = ref.get_object()
                if name not in fonts and isinstance(font, DictionaryObject):
                    fonts[name] = Font.from_font_resource(font)
        matrix = [float(v) for v in form.get("/Matrix", [1, 0, 0, 1, 0, 0])]
        inner = ContentStream(form, pdf, "bytes").operations
        out.append(([], b"q"))
        out.append((matrix, b"cm"))
        out.extend(_inline_forms(inner, form_resources or resources, fonts, pdf, depth + 1))
        out.append(([], b"Q"))
    return out
