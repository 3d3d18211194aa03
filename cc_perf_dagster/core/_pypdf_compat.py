"""The one place that touches pypdf internals.

pypdf's public API parses content streams (:class:`pypdf.generic.ContentStream`) but keeps
its font model (character codes to Unicode, glyph widths) in a private module. The text
interpreter (:mod:`cc_perf_dagster.core.content_stream`) needs exactly that model, so it
is reached here and nowhere else; so is the ``/Length`` pypdf drops from each stream it reads
(:func:`keep_declared_lengths`). It is pinned by the ``pypdf`` range in ``pyproject.toml``
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


def keep_declared_lengths() -> None:
    """Have pypdf keep the ``/Length`` each stream declares, as ``declared_length`` on the stream.

    pypdf reads a stream's data by its ``/Length``, falls back to looking for ``endstream``
    where that is wrong, and then drops ``/Length`` from the dictionary: afterwards nothing
    shows that bytes were lost or added (``stream_check.stream_damage`` compares the two).
    Wraps ``StreamObject.initialize_from_dictionary``, through which every stream pypdf reads
    is made; idempotent. The value kept is as written (a number or a reference).
    """
    from pypdf.generic import StreamObject

    original = StreamObject.initialize_from_dictionary
    if getattr(original, "keeps_declared_length", False):
        return

    def initialize_from_dictionary(data: dict[str, Any]) -> Any:
        declared = data.get("/Length")
        stream = original(data)
        stream.declared_length = declared
        return stream

    initialize_from_dictionary.keeps_declared_length = True  # type: ignore[attr-defined]
    StreamObject.initialize_from_dictionary = staticmethod(initialize_from_dictionary)  # type: ignore[method-assign]
