"""Interpret a page's content stream into text runs in page space, whatever the producer.

Every glyph's position comes from the full text rendering matrix: the text matrix (``Tm``,
moved by ``Td``/``TD``/``T*``/``'``/``"`` and by each glyph's advance) times the current
transformation matrix (``cm``, saved and restored by ``q``/``Q``, and a form XObject's
``/Matrix``). Advances use the font's own widths (``/Widths``, CID ``/W``, a Type 3 font's
``/FontMatrix``), the font size, ``Tc``, ``Tw``, ``Tz``, and ``TJ`` offsets; ``Ts`` raises the
baseline. Producers that flip and scale the page (Chromium/Skia, cairo: ``y`` grows downward
in the stream's own space) therefore read like any other.

Each run is one word: the non-space glyphs of one text-showing operator between spaces, so
words inside one operator keep their exact positions. A page is then turned so that most of
its text reads left to right (pages with ``/Rotate``, pages drawn rotated); runs in another
direction (a vertical or diagonal stamp) are left out, and so are words drawn upright at
several times the page's body text size (a "COPY" or "PAID" watermark across the table);
glyphs drawn with no area (font size 0, ``0 Tz``, a collapsed matrix) show nothing and are not read.
Words drawn invisible (text render mode 3 or 7) are kept apart (:attr:`PageInterpreter.hidden`):
a page is read from what it shows, and from its invisible text only where it shows none (a
scanner's OCR layer over the page's image; see :func:`visible_words`).
Ligature glyphs and presentation forms are unfolded (``ﬀ`` -> ``ff``), no-break spaces are
spaces, drawn soft hyphens are hyphens; no other character is changed. The glyphs drawn inside a
marked-content span with ``/ActualText`` read as that text, one word over their extent
(:mod:`~cc_perf_dagster.core.marked_content`), as PDFium reads them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection
from typing import Any

from cc_perf_dagster.core.fonts import FontInfo
from cc_perf_dagster.core.marked_content import ActualTextSpan, MarkedContent

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
MAX_FORM_DEPTH = 8
# Glyphs whose em square covers less than this in page space (square points) show nothing.
NO_AREA = 1e-4


def _next_line(tlm: Matrix, leading: float) -> Matrix:
    """The start of the next line (``T*``, ``'``, ``"``): ``leading`` down the line matrix's y axis."""
    return (tlm[0], tlm[1], tlm[2], tlm[3], tlm[4] - leading * tlm[2], tlm[5] - leading * tlm[3])


def multiply(m: Matrix, n: Matrix) -> Matrix:
    """``m @ n`` in PDF's row-vector convention (apply ``m`` first, then ``n``)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


class _State:
    """The graphics and text state that ``q``/``Q`` save and restore."""

    __slots__ = (
        "char_spacing", "ctm", "font", "font_name", "invisible", "leading", "rise", "scale", "size", "word_spacing",
    )  # fmt: skip

    def __init__(self) -> None:
        self.ctm: Matrix = IDENTITY
        self.font: FontInfo | None = None
        self.font_name = ""
        self.size = 0.0
        self.char_spacing = 0.0
        self.word_spacing = 0.0
        self.scale = 1.0
        self.leading = 0.0
        self.rise = 0.0
        self.invisible = False  # text render mode 3 (neither filled nor stroked) or 7 (clip only)

    def copy(self) -> _State:
        other = _State.__new__(_State)
        for name in _State.__slots__:
            setattr(other, name, getattr(self, name))
        return other


# A word as drawn: text, start and end points of its baseline in page space, the text
# direction (unit vector), the "up" vector's sign-carrying size, and the font height.
RawRun = tuple[str, float, float, float, float, float, float, float, float]


class TooManyOperatorsError(ValueError):
    """A content stream holds more text-showing operators than the limit allows."""


class UnreadableTextError(ValueError):
    """Text is drawn in a font the page does not define (or that cannot be read)."""


# "/Name size Tf", and the operators that show text (' and " left out: they are no sure token).
_REGULAR = rb"[^\x00\t\n\f\r ()<>\[\]{}/%]"
_SET_FONT = re.compile(rb"/(%s+)\s+[-+.\d]+\s+Tf(?!%s)" % (_REGULAR, _REGULAR))
_SHOW = re.compile(rb"(?<!%s)T[jJ](?!%s)" % (_REGULAR, _REGULAR))
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def undefined_font(data: bytes, defined: Collection[str]) -> str | None:
    """The first font name that decoded content ``data`` shows text in and ``defined`` lacks, or ``None``.

    A scan of the bytes, for an engine that does not interpret the content itself (PDFium draws
    such text in a font of its own choosing, at widths of its own): it may miss text shown in
    such a font (with ``'`` or ``"``), never flags a font that is defined.

    Example:
        >>> undefined_font(b"BT /F1 9 Tf (a) Tj /F 9 Tf [(b)] TJ ET", {"/F1"}), undefined_font(b"/F 9 Tf", set())
        ('/F', None)
    """
    found = list(_SET_FONT.finditer(data))
    names = {raw: _font_name(raw) for raw in {match[1] for match in found}}  # (a page sets a few fonts often)
    if all(name is None or name in defined for name in names.values()):
        return None
    for index, match in enumerate(found):
        name = names[match[1]]
        end = found[index + 1].start() if index + 1 < len(found) else len(data)
        if name is not None and name not in defined and _SHOW.search(data, match.end(), end):
            return name
    return None


def _font_name(raw: bytes) -> str | None:
    """A font's name as ``Tf`` sets it (``#`` escapes decoded), or ``None`` where it is not ASCII."""
    if b"#" in raw:
        raw = _ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), raw)
    return "/" + raw.decode("ascii") if raw.isascii() else None  # (pypdf may decode others otherwise)


def content_data(contents: Any) -> list[bytes]:
    """The decoded data of a page's content: a stream, or a list (array) of them."""
    parts = [part.get_object() for part in contents] if isinstance(contents, list) else [contents]
    return [part.get_data() for part in parts if hasattr(part, "get_data")]


def check_fonts_defined(contents: Any, resources: Any) -> None:
    """Refuse a page whose content (a stream or a list of them) shows text in a font its resources lack.

    Raises:
        UnreadableTextError: Naming the font (see :func:`undefined_font`).
    """
    fonts = resources.get_object().get("/Font") if resources is not None else None
    defined = fonts.get_object().keys() if fonts is not None else ()
    name = undefined_font(b"\n".join(content_data(contents)), defined)
    if name is not None:
        raise _undefined(name)


def _undefined(name: str) -> UnreadableTextError:
    return UnreadableTextError(f"text is drawn in font {name}, which the page does not define or is unreadable")


class PageInterpreter:
    """Walk one page's operators (form XObjects inlined) and collect its words in page space.

    Args:
        resolve_font: Turns a font resource (as found in a ``/Font`` dict) into a :class:`FontInfo`.
        parse: Turns a content stream object into its operator list ``[(operands, op), ...]``.
        max_text_operators: Text-showing operators allowed on the page (forms included).
        hides: Whether a layer (``/OCG`` or ``/OCMD`` reference) is hidden in the default view;
            content marked with one, or a form in one, is not read
            (:mod:`~cc_perf_dagster.core.optional_content`). ``None``: the document hides none.
    """

    def __init__(
        self,
        resolve_font: Callable[[Any], FontInfo | None],
        parse: Callable[[Any], list],
        max_text_operators: int = 0,
        hides: Callable[[Any], bool] | None = None,
    ):
        self._resolve_font = resolve_font
        self._hides = hides
        self._parse = parse
        self._limit = max_text_operators
        self._shown = 0
        self._fonts: dict[int, FontInfo | None] = {}
        self.runs: list[RawRun] = []
        self.hidden: list[RawRun] = []  # words drawn invisible (render mode 3 or 7): an OCR layer
        self._marks = MarkedContent(hides)  # /ActualText spans, layers the default view hides

    def run(
        self, operations: list, resources: Any, ctm: Matrix = IDENTITY, depth: int = 0, invisible: bool = False
    ) -> None:
        """Interpret ``operations`` with ``resources`` under ``ctm`` (``invisible``: ``3 Tr`` in force)."""
        state = _State()
        state.ctm = ctm
        state.invisible = invisible  # a form is drawn in the render mode in force where it is used
        stack: list[_State] = []
        fonts = _dict_entry(resources, "/Font")
        xobjects = None
        tm: Matrix = IDENTITY
        tlm: Matrix = IDENTITY
        for operands, op in operations:
            if op == b"Tj" or op == b"TJ" or op == b"'" or op == b'"':
                if op == b"'" or op == b'"':
                    if op == b'"' and len(operands) >= 3:
                        state.word_spacing = _num(operands[0], state.word_spacing)
                        state.char_spacing = _num(operands[1], state.char_spacing)
                        operands = operands[2:]
                    tlm = tm = _next_line(tlm, state.leading)
                self._count()
                if not operands:
                    continue
                item = operands[0]
                if op == b"TJ":
                    if not isinstance(item, list):
                        continue
                    for part in item:
                        if isinstance(part, bytes):
                            tm = self._show(state, tm, part)
                        elif isinstance(part, (int, float)):
                            shift = -float(part) / 1000.0 * state.size * state.scale
                            tm = (tm[0], tm[1], tm[2], tm[3], tm[4] + shift * tm[0], tm[5] + shift * tm[1])
                elif isinstance(item, bytes):
                    tm = self._show(state, tm, item)
            elif op == b"Td" or op == b"TD":
                if len(operands) >= 2:
                    tx, ty = _num(operands[0], 0.0), _num(operands[1], 0.0)
                    if op == b"TD":
                        state.leading = -ty
                    tlm = (
                        tlm[0],
                        tlm[1],
                        tlm[2],
                        tlm[3],
                        tx * tlm[0] + ty * tlm[2] + tlm[4],
                        tx * tlm[1] + ty * tlm[3] + tlm[5],
                    )
                    tm = tlm
            elif op == b"T*":
                tlm = tm = _next_line(tlm, state.leading)
            elif op == b"Tm":
                if len(operands) >= 6:
                    tlm = tm = _matrix(operands)
            elif op == b"BT":
                tm = tlm = IDENTITY
            elif op == b"Tf":
                if len(operands) >= 2:
                    font = fonts.get(operands[0]) if fonts is not None else None
                    state.font = self._font(font) if font is not None else None
                    state.font_name = str(operands[0])
                    state.size = _num(operands[1], 0.0)
            elif op == b"q":
                stack.append(state.copy())
            elif op == b"Q":
                if stack:
                    state = stack.pop()
            elif op == b"cm":
                if len(operands) >= 6:
                    state.ctm = multiply(_matrix(operands), state.ctm)
            elif op == b"Tc":
                state.char_spacing = _num(operands[0], 0.0) if operands else 0.0
            elif op == b"Tw":
                state.word_spacing = _num(operands[0], 0.0) if operands else 0.0
            elif op == b"Tz":
                state.scale = _num(operands[0], 100.0) / 100.0 if operands else 1.0
            elif op == b"TL":
                state.leading = _num(operands[0], 0.0) if operands else 0.0
            elif op == b"Ts":
                state.rise = _num(operands[0], 0.0) if operands else 0.0
            elif op == b"Tr":
                state.invisible = (_num(operands[0], 0.0) if operands else 0.0) in (3.0, 7.0)
            elif op == b"Do" and operands and depth < MAX_FORM_DEPTH:
                if xobjects is None:
                    xobjects = _dict_entry(resources, "/XObject") or {}
                self._form(xobjects.get(operands[0]), resources, state, depth)
            elif op == b"BDC" or op == b"BMC":
                self._marks.begin(operands, resources)
            elif op == b"EMC":
                self._add_span(self._marks.end())
        if depth == 0:
            self._add_span(self._marks.close_all())

    def _add_span(self, span: ActualTextSpan | None) -> None:
        word = span.word() if span is not None else None
        if word is not None:
            (self.hidden if word[1] else self.runs).append(word[0])

    def _font(self, ref: Any) -> FontInfo | None:
        key = id(ref)
        if key not in self._fonts:
            self._fonts[key] = self._resolve_font(ref)
        return self._fonts[key]

    def _count(self) -> None:
        self._shown += 1
        if self._limit and self._shown > self._limit:
            raise TooManyOperatorsError(f"more than {self._limit} text operators on one page")

    def _form(self, ref: Any, resources: Any, state: _State, depth: int) -> None:
        form = ref.get_object() if ref is not None else None
        if form is None or form.get("/Subtype") != "/Form":
            return
        if self._hides is not None and dict.get(form, "/OC") is not None and self._hides(dict.get(form, "/OC")):
            return  # a form in a layer the default view hides is not drawn
        matrix = form.get("/Matrix")
        try:
            m = tuple(float(v) for v in matrix) if matrix is not None and len(matrix) == 6 else IDENTITY
        except (TypeError, ValueError):
            m = IDENTITY
        own = form.get("/Resources")
        own = own.get_object() if own is not None else None
        resources = own if own is not None else resources
        self.run(self._parse(form), resources, multiply(m, state.ctm), depth + 1, state.invisible)  # type: ignore[arg-type]

    def _show(self, state: _State, tm: Matrix, value: bytes) -> Matrix:
        """Advance ``tm`` over the string, recording its words; return the new text matrix."""
        font = state.font
        if not value:
            return tm
        if font is None:  # a viewer would guess a font; a reader that guesses may book wrong text
            name = state.font_name or "(none set)"
            raise _undefined(name)
        words, advance = font.layout(value, state.size, state.char_spacing, state.word_spacing, state.scale)
        # The combined matrix, text space -> page space, for this string (tm moves along its x).
        a, b, c, d, e, f = multiply(tm, state.ctm)
        if self._marks.hiding or abs((a * d - b * c) * state.size**2 * state.scale * font.height_scale) < NO_AREA:
            words = []  # a layer the default view hides, or glyphs with no area (size 0, 0 Tz): position only
        if words:
            rise = state.rise
            e += c * rise
            f += d * rise
            height = abs(state.size * font.height_scale) * math.hypot(c, d)
            length = math.hypot(a, b) or 1.0
            ux, uy = a / length, b / length
            up = a * d - b * c  # > 0: the page's y axis is the text's up (not mirrored)
            span = self._marks.active
            if span is not None:  # its /ActualText says what these glyphs say
                start, end = words[0][1], words[-1][2]
                span.add((a * start + e, b * start + f, a * end + e, b * end + f, ux, uy, up, height, state.invisible))
                return (tm[0], tm[1], tm[2], tm[3], tm[4] + advance * tm[0], tm[5] + advance * tm[1])
            append = self.hidden.append if state.invisible else self.runs.append
            for text, start, end in words:
                append((text, a * start + e, b * start + f, a * end + e, b * end + f, ux, uy, up, height))
        return (tm[0], tm[1], tm[2], tm[3], tm[4] + advance * tm[0], tm[5] + advance * tm[1])


def visible_words(visible: list[RawRun], hidden: list[RawRun]) -> tuple[list[RawRun], bool]:
    """The words a page is read from: those it shows, or its invisible ones where it shows none.

    Invisible text under visible text is not what the page says (a hidden overlay, or a
    searchable layer that repeats the page's own text in other positions); on a page with no
    visible text it is all there is to read (a scanner's OCR layer).

    Returns:
        The words, and whether they are the invisible ones.
    """
    return (visible, False) if visible or not hidden else (hidden, True)


def _matrix(operands: list) -> Matrix:
    try:
        a, b, c, d, e, f = map(float, operands[:6])
    except (TypeError, ValueError):
        return IDENTITY
    return (a, b, c, d, e, f)


def _num(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _dict_entry(resources: Any, key: str) -> Any:
    if resources is None:
        return None
    try:
        resources = resources.get_object()
        value = resources.get(key)
        return value.get_object() if value is not None else None
    except AttributeError:
        return None
