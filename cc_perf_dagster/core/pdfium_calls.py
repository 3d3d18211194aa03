"""The PDFium calls the pdfium engine makes per character, and a page's characters in one call.

Made from the functions of ``pypdfium2.raw`` (public bindings), so the library and its version
stay pypdfium2's; see :class:`PdfiumCalls` for why they are declared again.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

# PDFium reports a hyphen it judged to end a line (a word broken over two lines: "Hand-" above
# "Painted") as U+0002 (FPDFText_GetUnicode); the text FPDFText_GetText copies has U+FFFE there.
HYPHEN_MARK = "\x02"
COPIED_HYPHEN_MARK = "\ufffe"


class PdfiumCalls:
    """The PDFium calls made once per character, as plain C calls on raw addresses.

    pypdfium2's bindings wrap every handle in a typed ctypes pointer and convert each argument
    through its declared type; per character that costs more than the call itself. These
    prototypes declare only the result: the handle goes in as one ``c_void_p``, indices as
    plain ``int`` (ctypes passes them as C ``int``), out-parameters as ``byref`` made once per
    page. They are made from the same functions of ``pypdfium2.raw`` (public bindings), so the
    library and its version stay pypdfium2's. They keep the GIL (``PYFUNCTYPE``): each call is a
    lookup in the loaded text page, shorter than releasing and taking back the GIL, and PDFium is
    held by one lock anyway.
    """

    def __init__(self, raw: Any):
        def plain(function: Any, restype: Any) -> Any:
            call = ctypes.PYFUNCTYPE(restype)(ctypes.cast(function, ctypes.c_void_p).value)
            call.argtypes = None  # arguments as given: c_void_p, int, byref
            return call

        self.get_unicode = plain(raw.FPDFText_GetUnicode, ctypes.c_uint)
        self.get_text = plain(raw.FPDFText_GetText, ctypes.c_int)
        self.is_generated = plain(raw.FPDFText_IsGenerated, ctypes.c_int)
        self.get_text_object = plain(raw.FPDFText_GetTextObject, ctypes.c_void_p)
        self.get_char_origin = plain(raw.FPDFText_GetCharOrigin, ctypes.c_int)
        self.get_loose_char_box = plain(raw.FPDFText_GetLooseCharBox, ctypes.c_int)
        self.get_font_size = plain(raw.FPDFText_GetFontSize, ctypes.c_double)
        self.get_matrix = plain(raw.FPDFText_GetMatrix, ctypes.c_int)
        self.get_render_mode = plain(raw.FPDFTextObj_GetTextRenderMode, ctypes.c_int)
        self.is_hyphen = plain(raw.FPDFText_IsHyphen, ctypes.c_int)
        self.rect, self.matrix = raw.FS_RECTF, raw.FS_MATRIX  # out-parameter types
        # The functions the C word loop calls, by address, in the order _glyph_words.c takes them.
        self.addresses = tuple(
            ctypes.cast(function, ctypes.c_void_p).value
            for function in (
                raw.FPDFText_IsGenerated,
                raw.FPDFText_GetTextObject,
                raw.FPDFText_GetCharOrigin,
                raw.FPDFText_GetLooseCharBox,
                raw.FPDFText_GetFontSize,
                raw.FPDFText_GetMatrix,
                raw.FPDFTextObj_GetTextRenderMode,
            )
        )


@functools.cache
def calls(raw: Any) -> PdfiumCalls:
    """The calls for ``pypdfium2.raw``, made once per process."""
    return PdfiumCalls(raw)


def page_text(api: PdfiumCalls, handle: ctypes.c_void_p, count: int) -> str:
    r"""The page's characters, one per index: one ``FPDFText_GetText`` call, else one call each.

    ``FPDFText_GetText`` copies PDFium's page text buffer, which holds every character of the
    page except the control characters it drops; when it holds exactly ``count`` characters
    nothing was dropped and character ``i`` is ``FPDFText_GetUnicode(i)``, but where the copy
    has U+FFFE: PDFium's mark of a hyphen that ends a line is U+0002 one by one, U+FFFE in the
    copy, so those characters are asked for one by one. Otherwise (also when two characters are
    the halves of a surrogate pair, which decode as one) every character is asked for one by one
    (a code outside Unicode reads as ``"\x00"``: no text).
    """
    if count <= 0:
        return ""
    # UTF-16LE: PDFium copies its text without knowing the buffer's size, up to two units per
    # character (a surrogate pair) and the terminator.
    buffer = ctypes.create_string_buffer(4 * count + 2)
    written = api.get_text(handle, 0, count, buffer)
    if written > 0:
        text = buffer.raw[: 2 * (written - 1)].decode("utf-16-le", "surrogatepass")
        if len(text) == count:
            if COPIED_HYPHEN_MARK not in text:
                return text
            # A line-end hyphen (or a glyph its font maps to U+FFFE): asked for one by one.
            return "".join(
                _character(api.get_unicode(handle, index)) if char == COPIED_HYPHEN_MARK else char
                for index, char in enumerate(text)
            )
    return "".join(_character(api.get_unicode(handle, index)) for index in range(count))


def _character(code: int) -> str:
    r"""A code from ``FPDFText_GetUnicode`` as text (one outside Unicode reads as ``"\x00"``: no text)."""
    return chr(code) if code < 0x110000 else "\x00"
