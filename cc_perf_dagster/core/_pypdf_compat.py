"""The one place that touches pypdf internals.

pypdf's public API parses content streams (:class:`pypdf.generic.ContentStream`) but keeps
its font model (character codes to Unicode, glyph widths) in a private module. The text
interpreter (:mod:`cc_perf_dagster.core.content_stream`) needs exactly that model, so it
is reached here and nowhere else. It is pinned by the ``pypdf`` range in ``pyproject.toml``
and covered by the engine tests; if a pypdf release moves it, the tests fail here.
"""

from __future__ import annotations

from typing import Any

from pypdf.generic._font import Font


def font_from_resource(font: Any) -> Any:
    """Pypdf's font model of a font dictionary: ``encoding``, ``character_map``, ``character_widths``.

    Args:
        font: A resolved font dictionary.

    Returns:
        A ``pypdf.generic._font.Font``.
    """
    return Font.from_font_resource(font)
