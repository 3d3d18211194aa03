"""The exception hierarchy for input the extractor cannot or will not read.

Every error names the file (and the page, when one is known) in its message, so a
log line or a quarantine note says on its own what went wrong where. Each class also
derives from the matching built-in exception, so callers that only know the standard
library still catch them sensibly.

Example:
    >>> try:
    ...     extract_invoice("scan.pdf")
    ... except InvalidDocumentError as exc:
    ...     print(exc.code, exc)            # doctest: +SKIP
    no_text_layer scan.pdf: no text layer ...
"""

from __future__ import annotations

import re
from os import PathLike

# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators: anything
# that could break a one-line message or recolour a terminal (ANSI escapes start with ESC).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    r"""``text`` with every control character escaped (``\n``, ``\x1b``), safe for one log or stderr line.

    Example:
        >>> one_line("bad\nname\x1b[31m.pdf")
        'bad\\nname\\x1b[31m.pdf'
    """
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), m.group().encode("unicode_escape").decode()), text)


class CcPerfError(Exception):
    """Base class of every error this package raises on purpose.

    Attributes:
        file: The file the error is about (as given by the caller), or ``None``.
        page: The 1-based page number, when the problem is on a known page.
        reason: The human-readable reason, without the file and page prefix.
    """

    code = "error"

    def __init__(self, reason: str, *, file: str | PathLike[str] | None = None, page: int | None = None):
        self.file = None if file is None else str(file)
        self.page = page
        self.reason = reason
        super().__init__(self._message())

    def _message(self) -> str:
        where = self.file or "<input>"
        if self.page is not None:
            where = f"{where}: page {self.page}"
        # File names and reasons (which may quote file names) come from outside: one line, no escapes.
        return one_line(f"{where}: {self.reason}")

    def to_dict(self) -> dict[str, object]:
        """The error as plain data, for JSON error notes and metadata."""
        return {
            "error": self.code,
            "type": type(self).__name__,
            "file": self.file,
            "page": self.page,
            "reason": self.reason,
        }


class InvalidDocumentError(CcPerfError, ValueError):
    """The input is not a document the extractor can read; nothing is wrong with the code."""

    code = "invalid_document"


class EmptyFileError(InvalidDocumentError):
    """The file has no bytes at all."""

    code = "empty_file"


class NotAPdfError(InvalidDocumentError):
    """The file does not start like a PDF."""

    code = "not_a_pdf"


class DamagedPdfError(InvalidDocumentError):
    """The PDF is truncated or its structure cannot be read."""

    code = "damaged_pdf"


class EncryptedPdfError(InvalidDocumentError, PermissionError):
    """The PDF is encrypted and cannot be opened without a password."""

    code = "encrypted_pdf"


class NoTextLayerError(InvalidDocumentError):
    """The PDF holds no text layer (a scan); reading it would need OCR."""

    code = "no_text_layer"


class UnsupportedDocumentError(InvalidDocumentError, LookupError):
    """The PDF reads fine but is not a Creative Co-op order confirmation or invoice."""

    code = "not_creative_coop"


class UndecodableTextError(UnsupportedDocumentError):
    """The text's fonts map its glyphs to no text, so whose document it is cannot be read.

    Fonts without a Unicode map (``/ToUnicode``) whose glyph codes say nothing of their letters
    (subset fonts numbered in drawing order, glyph names such as ``a27``) read as control
    characters; the document may well be one the parser knows, but none of it can be read.
    """

    code = "undecodable_text"

    def __init__(self, unread: int, *, file: str | PathLike[str] | None = None, page: int | None = None):
        super().__init__(
            f"the text cannot be read: its fonts map {unread:,} of its characters to no text (fonts "
            "without a Unicode map?), so no CS/CI number or vendor name can be read",
            file=file,
            page=page,
        )


class DocumentTooLargeError(InvalidDocumentError):
    """The file exceeds the configured byte or page limit."""

    code = "too_large"


class EngineUnavailableError(CcPerfError, ImportError):
    """The text engine asked for needs a library that is not installed (e.g. ``pypdfium2``)."""

    code = "engine_unavailable"


class NotBookableError(InvalidDocumentError):
    """A Creative Co-op document was read, but not well enough to book (see ``core.bookability``).

    Attributes:
        reasons: Every reason, one sentence each; ``reason`` joins them.
    """

    code = "not_bookable"

    def __init__(self, reasons: tuple[str, ...] | list[str], *, file: str | PathLike[str] | None = None):
        self.reasons = tuple(reasons)
        super().__init__("not bookable: " + "; ".join(self.reasons), file=file)

    def to_dict(self) -> dict[str, object]:
        """The error as plain data, with the reasons as a list."""
        return {**super().to_dict(), "reasons": list(self.reasons)}


__all__ = [
    "CcPerfError",
    "DamagedPdfError",
    "DocumentTooLargeError",
    "EmptyFileError",
    "EncryptedPdfError",
    "EngineUnavailableError",
    "InvalidDocumentError",
    "NoTextLayerError",
    "NotAPdfError",
    "NotBookableError",
    "UndecodableTextError",
    "UnsupportedDocumentError",
    "one_line",
]
