"""Marked content: ``/ActualText`` spans and optional content (layers) the default view hides.

A producer whose font cannot say which text a glyph stands for (a ligature drawn from a glyph
the font's ``/ToUnicode`` map gives other text, a glyph with no map at all) wraps it in
``/Span << /ActualText (ff) >> BDC ... EMC``. The span's text replaces its glyphs' text, as in
PDFium and poppler: one word from the start of the span's first glyph to the end of its last.
Spans nest (``BMC``/``BDC`` ... ``EMC``); the outermost ``/ActualText`` wins, and a span that
drew no glyph says nothing. Properties come inline or, by name, from the resources'
``/Properties``.

Content marked ``/OC`` with a layer the document's default view hides
(:mod:`~cc_perf_dagster.core.optional_content`) is not drawn: nothing inside it is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cc_perf_dagster.core.fonts import normalize_glyph_text

# A glyph word's geometry as the interpreter records it: start and end of its baseline in page
# space, direction, "up" sign and height (see content_stream.RawRun), and whether it is invisible.
Geometry = tuple[float, float, float, float, float, float, float, float, bool]


class ActualTextSpan:
    """The replacement text of one span and the geometry of the glyph words drawn inside it."""

    __slots__ = ("first", "last", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.first: Geometry | None = None
        self.last: Geometry | None = None

    def add(self, geometry: Geometry) -> None:
        """Record one glyph word drawn inside the span (in drawing order)."""
        if self.first is None:
            self.first = geometry
        self.last = geometry

    def word(self) -> tuple[tuple[str, float, float, float, float, float, float, float, float], bool] | None:
        """The span as one raw run and whether it was drawn invisible; ``None`` if it drew nothing."""
        if self.first is None or self.last is None:
            return None
        x0, y0, _, _, ux, uy, up, height, invisible = self.first
        x1, y1 = self.last[2], self.last[3]
        return (self.text, x0, y0, x1, y1, ux, uy, up, height), invisible


class MarkedContent:
    """The marked-content sequences open on a page: the outermost with ``/ActualText``, and hidden layers.

    Args:
        hides: Whether a layer (an ``/OCG`` or ``/OCMD`` reference) is hidden in the default view.
    """

    __slots__ = ("_hides", "_open", "active", "hiding")

    def __init__(self, hides: Callable[[Any], bool] | None = None) -> None:
        self._hides = hides
        self._open: list[tuple[ActualTextSpan | None, bool]] = []
        self.active: ActualTextSpan | None = None
        self.hiding = 0  # open sequences of hidden layers: while above 0, nothing drawn is read

    def begin(self, operands: list, resources: Any) -> None:
        """``BDC`` (``operands``: tag and properties) or ``BMC`` (tag only)."""
        properties = property_list(operands[1], resources) if len(operands) >= 2 else None
        hidden = properties is not None and operands[0] == "/OC" and self._hides is not None and self._hides(properties)
        text = actual_text(properties) if properties is not None and not hidden else None
        span = ActualTextSpan(text) if text is not None and self.active is None else None
        if span is not None:
            self.active = span
        self.hiding += hidden
        self._open.append((span, hidden))

    def end(self) -> ActualTextSpan | None:
        """``EMC``: the span it closes when that was the active ``/ActualText`` span."""
        if not self._open:
            return None
        span, hidden = self._open.pop()
        self.hiding -= hidden
        if span is not None and span is self.active:
            self.active = None
            return span
        return None

    def close_all(self) -> ActualTextSpan | None:
        """The active span, closed at the end of the page (a stream that never ends its span)."""
        span, self.active = self.active, None
        self._open.clear()
        self.hiding = 0
        return span


def property_list(operand: Any, resources: Any) -> Any:
    """A ``BDC`` property list: inline, or named in the resources' ``/Properties`` (the reference itself)."""
    if hasattr(operand, "get"):
        return operand
    try:
        named = resources.get_object().get("/Properties") if resources is not None else None
        return dict.get(named.get_object(), operand) if named is not None else None
    except (AttributeError, TypeError):
        return None


def actual_text(properties: Any) -> str | None:
    """The ``/ActualText`` of a property list (see :func:`property_list`), if it has one."""
    try:
        value = properties.get_object().get("/ActualText")
    except AttributeError:
        return None
    if value is None:
        return None
    value = value.get_object()
    if isinstance(value, bytes):  # a string pypdf left undecoded (as in a content stream's property list)
        value = text_string(bytes(value))
    return normalize_glyph_text(str(value)) if isinstance(value, str) else None


# PDFDocEncoding where it is not Latin-1 (PDF 32000-1, annex D.2); 0x7F, 0x9F and 0xAD are undefined.
_PDFDOC = (
    dict(zip(range(0x18, 0x20), "˘ˇˆ˙˝˛˚˜", strict=True))
    | dict(zip(range(0x80, 0x9F), "•†‡…—–ƒ⁄‹›−‰„“”‘’‚™ﬁﬂŁŒŠŸŽıłœšž", strict=True))
    | {0xA0: "€"}
)


def text_string(value: bytes) -> str:
    r"""A PDF text string: UTF-16 or UTF-8 after their byte order mark, else PDFDocEncoding.

    An undefined PDFDocEncoding byte reads as U+FFFD, which says nothing (``fonts.unread_characters``).

    Example:
        >>> text_string(b"Price \x96 \xa0"), text_string(b"\xfe\xff\x00T\x00a")
        ('Price Œ €', 'Ta')
    """
    if value[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return value.decode("utf-16", "replace")
    if value[:3] == b"\xef\xbb\xbf":
        return value[3:].decode("utf-8", "replace")
    return "".join(_PDFDOC.get(byte) or ("\ufffd" if byte in (0x7F, 0x9F, 0xAD) else chr(byte)) for byte in value)
