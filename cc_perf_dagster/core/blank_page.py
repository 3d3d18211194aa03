"""Whether a page draws nothing at all: a blank page, as opposed to one whose text cannot be read.

A page without text is either blank (nothing on it: a page a printer left empty after an
overflowing table, or after the last page) or holds what cannot be read as text (a scan,
text drawn as outlines, content lost). Only the document's own page numbering can tell
whether a blank page is a page of content lost (see
:class:`~cc_perf_dagster.core.vendors.creative_coop.document.DocumentAssembler`); this module
tells blank from textless. A page is blank when it has no annotations and its content stream
shows no text (even invisible), draws no image, form XObject or shading, and paints no path
but in white (the white background some producers fill first: wkhtmltopdf, Qt).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Operators that put something on the page whatever the colour (pypdf names an inline image
# "INLINE IMAGE"), and the path-painting ones, with the colours they paint in.
_ALWAYS = frozenset({b"sh", b"Do", b"INLINE IMAGE", b"Tj", b"TJ", b"'", b'"'})
_FILLS = frozenset({b"f", b"F", b"f*"})
_STROKES = frozenset({b"S", b"s"})
_BOTH = frozenset({b"B", b"B*", b"b", b"b*"})
# Colour operators: (stroking?, white when the operands are these).
_DEVICE = {b"g": (False, (1,)), b"G": (True, (1,)), b"rg": (False, (1, 1, 1)), b"RG": (True, (1, 1, 1))}
_DEVICE |= {b"k": (False, (0, 0, 0, 0)), b"K": (True, (0, 0, 0, 0))}
# The white of a device or ICC-based colour space of N components, set with sc/scn.
_WHITE = {1: (1,), 3: (1, 1, 1), 4: (0, 0, 0, 0)}
_COMPONENTS = {"/DeviceGray": 1, "/DeviceRGB": 3, "/DeviceCMYK": 4, "/G": 1, "/RGB": 3, "/CMYK": 4}


def draws_nothing(page: Any, operations: Callable[[Any], list]) -> bool:
    """Whether a pypdf page shows nothing and has no annotations (see the module docstring).

    Args:
        page: A pypdf page object.
        operations: Parses a content stream object into ``(operands, operator)`` pairs.
    """
    annotations = page.get("/Annots")
    if annotations is not None and annotations.get_object():  # (an empty array is none)
        return False
    contents = page.get("/Contents")
    if contents is None:
        return True
    resources = page.get("/Resources")
    spaces = resources.get_object().get("/ColorSpace") if resources is not None else None
    spaces = spaces.get_object() if spaces is not None else {}
    white = [False, False]  # fill, stroke: black to begin with
    components = [1, 1]  # of the current fill and stroke colour spaces (0: not a device space)
    saved: list[tuple[list[bool], list[int]]] = []
    for operands, operator in operations(contents.get_object()):
        if operator in _ALWAYS:
            return False
        if operator in _FILLS or operator in _STROKES or operator in _BOTH:
            painted = [operator not in _STROKES, operator not in _FILLS]
            if any(p and not w for p, w in zip(painted, white, strict=True)):
                return False
        elif operator == b"q":
            saved.append((white[:], components[:]))
        elif operator == b"Q" and saved:
            white, components = saved.pop()
        elif operator in _DEVICE:
            stroking, values = _DEVICE[operator]
            white[stroking] = _numbers(operands) == values  # (None, a name, is no colour)
            components[stroking] = len(values)
        elif operator in (b"cs", b"CS"):
            stroking = operator == b"CS"
            components[stroking] = _components(operands[0] if operands else None, spaces)
            white[stroking] = False  # a new colour space starts at its initial colour (black)
        elif operator in (b"sc", b"scn", b"SC", b"SCN"):
            stroking = operator in (b"SC", b"SCN")
            values = _numbers(operands)
            white[stroking] = values is not None and values == _WHITE.get(components[stroking])
    return True


def _numbers(operands: list) -> tuple[float, ...] | None:
    try:
        return tuple(float(value) for value in operands)
    except (TypeError, ValueError):  # a pattern's name: not a plain colour
        return None


def _components(name: Any, spaces: Any) -> int:
    """Components of a device or ICC-based colour space (named directly or in the resources), else 0."""
    if name is None:
        return 0
    if str(name) in _COMPONENTS:
        return _COMPONENTS[str(name)]
    space = spaces.get(name) if hasattr(spaces, "get") else None
    space = space.get_object() if space is not None else None
    if space is not None and str(space) in _COMPONENTS:
        return _COMPONENTS[str(space)]
    try:
        if str(space[0]) == "/ICCBased":
            return int(space[1].get_object()["/N"])
    except (TypeError, KeyError, IndexError, ValueError, AttributeError):
        return 0
    return 0
