"""What the text interpreter needs of a font: each glyph's text and advance, laid out per string.

Glyph text comes from pypdf's font model (encoding, ``/ToUnicode``); ligatures and
presentation forms are unfolded (``ﬀ`` -> ``ff``), no-break spaces become spaces and a drawn
soft hyphen a hyphen; no other character is changed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

# No-break spaces are spaces. A soft hyphen that reaches a text layer was drawn (WinAnsi's
# code 0xAD is the hyphen glyph; rewriters map the "hyphen" glyph to U+00AD): it is a hyphen.
_SPACES = {"\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u00ad": "-"}


# Characters that carry no text: control characters (whitespace aside), the replacement character,
# noncharacters, and the private use areas. A glyph reads as one of these when its font gives it
# no meaning (a Type 3 or subset font without ``/ToUnicode`` and with made-up glyph names: its
# ligatures, say), or when an engine's own marker leaks into the text.
_UNREAD = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffd-\uffff\ue000-\uf8ff\U000f0000-\U0010ffff]"
)


def unread_characters(text: str) -> list[str]:
    r"""The characters of ``text`` that say nothing: the font maps the glyph to no text.

    Example:
        >>> unread_characters("Faux Fur Cu\x1b, Brown")
        ['\x1b']
    """
    return _UNREAD.findall(text)


def normalize_glyph_text(text: str) -> str:
    r"""Unfold ligatures and presentation forms; no-break spaces become spaces, soft hyphens hyphens.

    Example:
        >>> normalize_glyph_text("Tari\ufb00")
        'Tariff'
    """
    out = []
    for char in text:
        code = ord(char)
        if char in _SPACES:
            out.append(_SPACES[char])
        elif 0xFB00 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
            out.append(unicodedata.normalize("NFKC", char))
        else:
            out.append(char)
    return "".join(out)


class FontInfo:
    """What the interpreter needs of one font: glyph text, advance, and whether code 32 takes ``Tw``.

    Args:
        model: pypdf's font model (``encoding``, ``character_map``, ``character_widths``).
        width_scale: Glyph-space width units to text space (1/1000, or a Type 3 ``FontMatrix[0]``).
        height_scale: Glyph-space height of one em relative to the font size (1, or Type 3's).
    """

    __slots__ = (
        "_cache",
        "_default",
        "_layouts",
        "_map",
        "_widths",
        "encoding",
        "height_scale",
        "simple",
        "width_scale",
    )

    def __init__(self, model: Any, width_scale: float = 0.001, height_scale: float = 1.0):
        self.encoding = model.encoding
        self.simple = not isinstance(model.encoding, str)
        self._map = model.character_map
        self._widths = model.character_widths
        self._default = float(model.character_widths.get("default", 500))
        self.width_scale = width_scale
        self.height_scale = height_scale
        self._cache: dict[str, tuple[str, float]] = {}
        self._layouts: dict[tuple, tuple[tuple[tuple[str, float, float], ...], float]] = {}

    def codes(self, value: bytes) -> str:
        """The string's character codes, one character each."""
        if self.simple:
            return value.decode("latin-1")
        try:
            return value.decode(self.encoding, "surrogatepass")
        except (UnicodeDecodeError, LookupError):
            return value.decode(self.encoding if self.encoding != "charmap" else "latin-1", "replace")

    def glyph(self, code: str) -> tuple[str, float]:
        """The glyph's Unicode text (normalized) and its advance in glyph-space units."""
        hit = self._cache.get(code)
        if hit is None:
            text = code
            if self.simple:
                text = self.encoding.get(ord(code), code)
            text = self._map.get(text, text)
            if not isinstance(text, str):
                text = ""
            width = self._widths.get(code, self._default)
            try:
                width = float(width)
            except (TypeError, ValueError):
                width = self._default
            hit = (normalize_glyph_text(text), width)
            self._cache[code] = hit
        return hit

    def layout(
        self, value: bytes, size: float, char_spacing: float, word_spacing: float, scale: float
    ) -> tuple[tuple[tuple[str, float, float], ...], float]:
        """The words of a shown string with their start and end along the baseline, and its advance.

        Offsets are in text space (before the text matrix). Strings repeat a lot on invoices
        (quantities, units, labels), so results are kept per font, up to a bound.
        """
        key = (value, size, char_spacing, word_spacing, scale)
        hit = self._layouts.get(key)
        if hit is not None:
            return hit
        wscale = self.width_scale * size
        tw = word_spacing if self.simple else 0.0
        glyph = self.glyph
        words: list[tuple[str, float, float]] = []
        word: list[str] = []
        x = start = 0.0
        for code in self.codes(value):
            text, width = glyph(code)
            advance = (width * wscale + char_spacing + (tw if code == " " else 0.0)) * scale
            if not text or text.isspace():
                if word:
                    words.append(("".join(word), start, x))
                    word = []
                x += advance
                start = x
                continue
            word.append(text)
            x += advance
        if word:
            words.append(("".join(word), start, x))
        hit = (tuple(words), x)
        if len(self._layouts) >= _LAYOUT_CACHE:
            self._layouts.clear()
        self._layouts[key] = hit
        return hit


_LAYOUT_CACHE = 4096


def uses_type3_fonts(resources: Any) -> bool:
    """Whether a resource dictionary (a page's, with its forms') defines a Type 3 font.

    Args:
        resources: A ``/Resources`` dictionary (pypdf objects; ``None`` for none).
    """
    return any(font.get("/Subtype") == "/Type3" for font in page_fonts(resources))


def page_fonts(resources: Any) -> Iterator[Any]:
    """The font dictionaries of a resource dictionary and of its forms' (see :func:`page_forms`).

    Args:
        resources: A ``/Resources`` dictionary (pypdf objects; ``None`` for none).
    """
    for each in [resources, *(form.get("/Resources") for form in page_forms(resources))]:
        each = _resolved(each)
        fonts = _resolved(each.get("/Font")) if isinstance(each, dict) else None
        if isinstance(fonts, dict):
            yield from (font for ref in fonts.values() if isinstance(font := _resolved(ref), dict))


def page_forms(resources: Any, depth: int = 0, seen: set[int] | None = None) -> Iterator[Any]:
    """The form XObjects a resource dictionary names, and theirs, each once (8 forms deep at most).

    Args:
        resources: A ``/Resources`` dictionary (pypdf objects; ``None`` for none).
        depth: How deep in forms this dictionary is.
        seen: The forms met so far (a form naming itself ten times is walked once, not 10**8).
    """
    seen = set() if seen is None else seen
    resources = _resolved(resources)
    xobjects = _resolved(resources.get("/XObject")) if isinstance(resources, dict) and depth <= 8 else None
    if isinstance(xobjects, dict):
        for ref in xobjects.values():
            form = _resolved(ref)
            if isinstance(form, dict) and form.get("/Subtype") == "/Form" and id(form) not in seen:
                seen.add(id(form))  # resolved objects stay cached by the reader: ids are not reused
                yield form
                if form.get("/Resources") is not None and depth < 8:
                    yield from page_forms(form.get("/Resources"), depth + 1, seen)


FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def font_streams(font: Any) -> Iterator[tuple[str, Any]]:
    """The streams a font dictionary's text is drawn and read with, each with what it is, as found.

    Its embedded font programs (the ``/FontFile``, ``/FontFile2`` and ``/FontFile3`` of its
    descriptor, and of its descendant font's for a composite font), its ``/ToUnicode`` map and
    an embedded encoding CMap. References mostly, so a caller can judge each once.
    """
    for key, what in (("/ToUnicode", "/ToUnicode map"), ("/Encoding", "encoding CMap")):
        if hasattr(_resolved(font.get(key)), "_data"):
            yield what, dict.get(font, key)
    descendants = _resolved(font.get("/DescendantFonts"))
    for each in [font, *(map(_resolved, descendants) if isinstance(descendants, list) else ())]:
        descriptor = _resolved(each.get("/FontDescriptor")) if isinstance(each, dict) else None
        if isinstance(descriptor, dict):
            yield from (("font program", dict.get(descriptor, key)) for key in FONT_FILES if key in descriptor)


def damaged_font_streams(resources: Any, damage: Callable[[Any], str | None]) -> Iterator[tuple[str, str, str]]:
    """The font, what stream and its damage, for each stream of a page's fonts that is not whole.

    Args:
        resources: The page's ``/Resources`` (its forms' fonts count too).
        damage: What shows a stream (as found in its font) was not kept whole, or ``None``.
    """
    for font in page_fonts(resources):
        for what, stream in font_streams(font):
            found = damage(stream)
            if found is not None:
                yield str(font.get("/BaseFont", "a font")).lstrip("/"), what, found


def _resolved(value: Any) -> Any:
    try:
        return value.get_object() if value is not None else None
    except Exception:  # a broken reference resolves to nothing
        return None
