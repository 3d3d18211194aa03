"""PDF objects as :mod:`~cc_perf_dagster.core.pdf_objects` reads them, shaped as pypdf's.

They mirror the parts of pypdf's object model the shared checks use
(:mod:`~cc_perf_dagster.core.fonts`, :mod:`~cc_perf_dagster.core.canonical`,
:mod:`~cc_perf_dagster.core.stream_check`, :mod:`~cc_perf_dagster.core.page_box`):
``get_object()`` on every object, a dictionary's ``get`` giving the value as written and
``[]`` resolving it, ``raw_get``, a stream's encoded ``_data``, ``declared_length`` and
decoded ``get_data()``, a page's ``mediabox``; their ``repr`` is pypdf's, so a page hashes the
same through either reader. What would read otherwise than in pypdf raises :class:`Unsupported`.
"""

from __future__ import annotations

from math import log10
from typing import Any

from cc_perf_dagster.core.stream_check import _common_body, _inflate


class Unsupported(BaseException):
    """This reader cannot vouch for reading the file (or object) as pypdf would: ask pypdf.

    A ``BaseException``, not an ``Exception``: the shared checks catch ``Exception`` where
    pypdf's objects fail (a broken font reads as none, a stream that cannot be read as damaged),
    and this must pass through every one of them to :class:`~cc_perf_dagster.core.pdfium_structure.Structure`,
    never be taken for what the file holds.
    """


class _Direct:
    """What every object here does as pypdf's do: ``get_object()`` (a direct object is itself)."""

    __slots__ = ()

    def get_object(self) -> Any:
        """The object itself (a :class:`~cc_perf_dagster.core.pdf_objects.Reference` resolves)."""
        return self


class Name(_Direct, str):
    """A PDF name, spelled as pypdf spells it (``"/Font"``)."""

    __slots__ = ()


class Integer(_Direct, int):
    """A PDF integer."""

    __slots__ = ()


class Real(_Direct, float):
    """A PDF real number; its ``repr`` is pypdf's ``FloatObject``'s."""

    __slots__ = ()

    def __repr__(self) -> str:
        if self == 0:
            return "0.0"
        digits = 8 - int(log10(abs(self)))  # pypdf's FLOAT_WRITE_PRECISION is 8
        return f"{self:.{max(1, digits)}f}".rstrip("0").rstrip(".")


class Text(_Direct, str):
    """A string pypdf reads as text (plain ASCII, or marked UTF-16 or UTF-8)."""

    __slots__ = ()


class Opaque(_Direct, bytes):
    """A string whose text pypdf would decode otherwise (PDFDocEncoding): not hashed here."""

    def __repr__(self) -> str:
        raise Unsupported("a string in PDFDocEncoding")


class Keyword(_Direct):
    """``true``, ``false`` and ``null``, with pypdf's ``repr``."""

    __slots__ = ("value",)

    def __init__(self, value: bool | None):
        self.value = value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Keyword) and other.value is self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return "NullObject" if self.value is None else repr(self.value)


NULL, TRUE, FALSE = Keyword(None), Keyword(True), Keyword(False)


class Array(_Direct, list):
    """A PDF array (values as written: references stay references)."""


class Dictionary(_Direct, dict):
    """A PDF dictionary: ``get`` gives a value as written, ``[]`` resolves a reference."""

    def raw_get(self, key: str) -> Any:
        """The value as written (a reference stays one), as pypdf's ``raw_get``."""
        return dict.__getitem__(self, key)

    def __getitem__(self, key: str) -> Any:
        return dict.__getitem__(self, key).get_object()


class Stream(Dictionary):
    """A stream: its dictionary, its encoded ``_data`` and the ``/Length`` it declares."""

    def __init__(self, entries: dict[str, Any], data: bytes, declared_length: Any):
        super().__init__(entries)
        self._data = data
        self.declared_length = declared_length
        self._decoded: bytes | None = None

    def keep_decoded(self, data: bytes) -> None:
        """Keep what the damage check decoded (the same bytes :func:`decode` gives), not to decode twice."""
        if self._decoded is None:
            self._decoded = data

    def get_data(self) -> bytes:
        """The decoded data: what pypdf's filters return for plain Flate, ASCII85 then Flate, or none."""
        if self._decoded is None:
            try:
                self._decoded = decode(self)
            except Exception as exc:  # damage, or a filter's parameters read otherwise: pypdf's to judge
                raise Unsupported(f"stream data that cannot be decoded here ({exc!r})") from exc
        return self._decoded


class Page(Dictionary):
    """A page dictionary with what it inherits from the page tree (as pypdf's flattened pages)."""

    @property
    def mediabox(self) -> Array:
        """The ``/MediaBox``: four numbers, or :class:`Unsupported`."""
        box = self.get("/MediaBox")
        box = box.get_object() if box is not None else None
        if (
            not isinstance(box, Array)
            or len(box) != 4
            or not all(isinstance(v.get_object(), (Integer, Real)) for v in box)
        ):
            raise Unsupported("no media box of four numbers")
        return Array(v.get_object() for v in box)


def decode(stream: Stream) -> bytes:
    """A stream's decoded data, for the filter chains pypdf decodes to exactly these bytes."""
    filters = stream.get("/Filter")
    filters = [filters] if isinstance(filters, str) else list(filters or ())
    if "/DecodeParms" in stream and (filters != ["/FlateDecode"] or stream.get("/Type") != "/XRef"):
        raise Unsupported("a stream with decoding parameters")
    if not filters:
        return stream._data
    if filters not in (["/FlateDecode"], ["/ASCII85Decode", "/FlateDecode"]):
        raise Unsupported(f"a stream with filters {filters}")
    if filters[0] == "/ASCII85Decode" and _common_body(stream._data) is None:
        raise Unsupported("ASCII85 data in an unusual form")
    inflated = _inflate(stream, filters, keep=True)  # zlib.error, EOFError: Stream.get_data's to turn
    if inflated is None or inflated[0] is None:
        raise Unsupported("a stream too large to keep")
    data = b"".join(inflated[0])
    parameters = stream.get("/DecodeParms")
    return data if parameters is None else _unpredict(data, parameters.get_object())


def _unpredict(data: bytes, parameters: Any) -> bytes:
    """Undo the PNG ``Up`` predictor of a cross-reference stream (the one form read here)."""
    if not isinstance(parameters, dict) or parameters.get("/Predictor") not in (None, 1, 12):
        raise Unsupported("a predictor other than PNG Up")
    if parameters.get("/Predictor") in (None, 1):
        return data
    columns = int(parameters.get("/Columns", 1))
    width = columns + 1
    if len(data) % width:
        raise Unsupported("predicted rows of uneven length")
    out, previous = bytearray(), bytes(columns)
    for start in range(0, len(data), width):
        kind, row = data[start], data[start + 1 : start + width]
        if kind == 2:
            row = bytes((a + b) & 0xFF for a, b in zip(row, previous, strict=True))
        elif kind != 0:
            raise Unsupported("a PNG predictor other than Up")
        out += row
        previous = row
    return bytes(out)


def _string(raw: bytes) -> Any:
    """A string as pypdf makes it (text where its text is certain), else :class:`Opaque`."""
    try:
        if raw.startswith((b"\xfe\xff", b"\xff\xfe")):
            return Text(raw.decode("utf-16"))
        if raw.startswith(b"\xef\xbb\xbf"):
            return Text(raw[3:].decode("utf-8"))
    except UnicodeDecodeError:
        return Opaque(raw)
    if not raw.translate(None, bytes(range(32, 127)) + b"\t\n\r"):
        return Text(raw.decode("ascii"))
    return Opaque(raw)
