"""Damaged streams: Flate checksums, and pypdf's reports of what it could read only in part.

:func:`damaged_objects_raise` turns those reports, while a page is read, into an error.

pypdf forgives a Flate stream whose checksum fails (:func:`check_content_streams` does not). The
check decodes the stream itself, so in the common case (``/ASCII85Decode`` then
``/FlateDecode``, or ``/FlateDecode`` alone, no ``/DecodeParms``) it hands the decoded data
to pypdf, which would otherwise decode the stream a second time: exactly the bytes pypdf's own
filters return there, and only within pypdf's configured decoding limits, so a stream over
them still fails in pypdf as before.

The ASCII85 layer is read five digits at a time (:func:`ascii85_decode`); the standard
library's :func:`base64.a85decode`, which pypdf uses, walks the data one byte at a time in
Python. Input other than the common form goes to pypdf's own filter, so results, warnings and
errors are always pypdf's.

Both reach into pypdf's stream objects (the encoded ``_data``, the ``decoded_self`` that
``EncodedStreamObject.get_data`` fills); ``test_stream_check`` compares every test page's data
with what pypdf decodes on its own.
"""

from __future__ import annotations

import logging
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cc_perf_dagster.core.errors import DamagedPdfError
from cc_perf_dagster.core.fonts import damaged_font_streams, page_forms

# pypdf's whitespace (``pypdf._utils.WHITESPACES``): stripped around the data, ignored inside.
WHITESPACE = b"\x00\t\n\f\r "
_DIGITS = bytes(range(ord("!"), ord("u") + 1))
# What subtracting 33 from each of the five digits takes away from a group's value.
_OFFSET = 33 * (85**4 + 85**3 + 85**2 + 85 + 1)
# Decoded data larger than this is not kept for pypdf (the check itself reads in 1 MiB steps).
KEEP_AT_MOST = 8 << 20
_CHUNK = 1 << 20

try:
    from cc_perf_dagster.core._ascii85 import decode as _c_decode
except ImportError:  # no C compiler at install: the Python loop in ascii85_decode does the same
    _c_decode = None


def check_content_streams(contents: Any, file: str, page: int, *, encrypted: bool) -> None:
    """Raise :class:`DamagedPdfError` for a content stream whose data was not kept whole.

    See :func:`stream_damage`: pypdf forgives a bad Flate checksum (it retries without the
    stream's last bytes, for producers that add stray bytes after the data), so a changed byte
    inside the data would read as other text without any warning; and it reads an uncompressed
    stream up to ``endstream`` whatever its ``/Length`` says, so bytes lost or added inside
    would too. Stray bytes after complete Flate data (within its ``/Length``), and the
    one-byte-short ``/Length`` of some ReportLab releases, are accepted.
    """
    if contents is None:
        return
    contents = contents.get_object()
    for stream in list(contents) if isinstance(contents, list) else [contents]:
        stream = stream.get_object()
        if not hasattr(stream, "_data"):
            continue  # not a stream: pypdf says what it makes of it
        filters = _filters(stream)
        try:
            inflated = _inflate(stream, filters, keep=_keepable(stream, filters))
        except zlib.error as exc:
            raise DamagedPdfError(
                f"damaged content stream, it cannot be decoded ({exc})", file=file, page=page
            ) from exc
        except EOFError as exc:
            message = "damaged content stream, its compressed data ends early"
            raise DamagedPdfError(message, file=file, page=page) from exc
        if inflated is not None and inflated[0] is not None:
            _keep(stream, b"".join(inflated[0]), inflated[1])
        damage = _length_damage(stream, encrypted)
        if damage not in (None, ONE_BYTE_SHORT):
            raise DamagedPdfError(f"damaged content stream, {damage}", file=file, page=page)


def check_page_streams(
    page: Any, file: str, index: int, *, encrypted: bool, damage: Callable[[Any], str | None]
) -> None:
    """Raise :class:`DamagedPdfError` for a stream page ``index``'s text depends on that is not whole.

    Its content streams and its forms' (:func:`check_content_streams`), and its fonts' programs,
    ``/ToUnicode`` maps and encoding CMaps (:func:`stream_damage`, through ``damage``, which the
    caller keeps once per stream): PDFium draws text whose program is damaged in another font's
    glyph widths, and pypdf takes codes and text from the maps (and some from the programs).
    """
    resources = page.get("/Resources")
    check_content_streams(page.get("/Contents"), file, index + 1, encrypted=encrypted)
    for form in page_forms(resources):
        check_content_streams(form, file, index + 1, encrypted=encrypted)
    for font, what, found in damaged_font_streams(resources, damage):
        if found != ONE_BYTE_SHORT:
            raise DamagedPdfError(f"damaged {what} of {font}: {found}", file=file, page=index + 1)


ONE_BYTE_SHORT = "its data is one byte shorter than its /Length says"


def stream_damage(stream: Any, *, encrypted: bool) -> str | None:
    """What shows a stream's data was not kept whole (``None`` where nothing does).

    pypdf accepts Flate data that fails its checksum and a stream whose ``/Length`` is off (it
    looks for ``endstream`` instead); both mean bytes were lost, added or changed (or a stream's
    data swapped with another's). Flate data must pass its checksum (stray bytes after it, within
    the length, are accepted); every stream's data must be as long as its ``/Length`` says, except
    in an encrypted file, where pypdf holds the data decrypted. Data one byte shorter
    than its ``/Length`` (:data:`ONE_BYTE_SHORT`) is also how some ReportLab releases write
    every stream: the caller decides what that is worth.
    """
    data = getattr(stream, "_data", None)
    if not isinstance(data, bytes):
        return "it is not a stream"
    try:
        _inflate(stream, _filters(stream), keep=False)
    except zlib.error as exc:
        return f"its compressed data cannot be decoded ({exc})"
    except EOFError:
        return "its compressed data ends early"
    return _length_damage(stream, encrypted)


def _length_damage(stream: Any, encrypted: bool) -> str | None:
    length = getattr(stream, "declared_length", None)  # see _pypdf_compat.keep_declared_lengths
    length = length.get_object() if hasattr(length, "get_object") else length
    if encrypted or not isinstance(length, int) or length == len(stream._data):
        return None  # no /Length at all: pypdf warns as it reads the file (damaged_objects_raise)
    if length == len(stream._data) + 1:
        return ONE_BYTE_SHORT
    return f"its data is {len(stream._data)} bytes, its /Length says {length}"


def checksummed(stream: Any) -> bool:
    """Whether a stream's data carries a checksum (Flate's), which says whether it was kept whole."""
    return "/FlateDecode" in _filters(stream)


def _filters(stream: Any) -> list[Any]:
    filters = stream.get("/Filter")
    return [filters] if isinstance(filters, str) else list(filters or ())


def _inflate(stream: Any, filters: list[Any], *, keep: bool) -> tuple[list[bytes] | None, int] | None:
    """Inflate a Flate stream's data (after its ASCII layers), zlib's checksum checked.

    Returns:
        ``None`` where there is nothing to check (no Flate filter, an unusual filter chain);
        else the decoded chunks (``None`` unless ``keep`` and at most :data:`KEEP_AT_MOST`)
        and what pypdf counts against its decoding limit (each filter's input and output).

    Raises:
        zlib.error: The data cannot be decoded.
        EOFError: The compressed data ends early.
    """
    if "/FlateDecode" not in filters or not hasattr(stream, "_data"):
        return None
    data = stream._data
    work = [len(data)]
    for name in filters[: filters.index("/FlateDecode")]:
        if name not in ("/ASCII85Decode", "/ASCIIHexDecode"):
            return None  # an unusual chain: leave it to pypdf
        if name == "/ASCII85Decode":
            data = ascii85_decode(data)
        else:
            from pypdf.filters import ASCIIHexDecode

            data = ASCIIHexDecode.decode(data)
        work += [len(data), len(data)]
    inflater = zlib.decompressobj()
    decoded: list[bytes] | None = [] if keep else None
    size = 0
    while data and not inflater.eof:
        chunk = inflater.decompress(data, _CHUNK)
        data = inflater.unconsumed_tail
        size += len(chunk)
        if decoded is not None and size <= KEEP_AT_MOST:
            decoded.append(chunk)
        else:
            decoded = None
    if not inflater.eof:
        raise EOFError("the compressed data ends early")
    return decoded, sum(work) + size


def _keepable(stream: Any, filters: list[Any]) -> bool:
    """Whether pypdf's decoding of ``stream`` is plain ASCII85 and Flate (which the check repeats)."""
    return (
        filters in (["/FlateDecode"], ["/ASCII85Decode", "/FlateDecode"])
        and "/DecodeParms" not in stream
        and bool(stream._data)
        # an encoded stream not decoded yet (pypdf's, or pdf_values' Stream)
        and (getattr(stream, "decoded_self", False) is None or getattr(stream, "keep_decoded", None) is not None)
    )


def _keep(stream: Any, data: bytes, work: int) -> None:
    """Give pypdf the decoded data, as its ``EncodedStreamObject.get_data`` would have made it."""
    keep_decoded = getattr(stream, "keep_decoded", None)
    if keep_decoded is not None:  # pdf_values' Stream: its decode() would give the same bytes
        keep_decoded(data)
        return
    from pypdf import get_configuration
    from pypdf.generic import DecodedStreamObject

    limits = get_configuration()
    if len(data) >= limits.zlib_maximum_output_length or work > limits.stream_decoding_work_maximum_length:
        return  # pypdf refuses it: let it say so
    decoded = DecodedStreamObject()
    decoded.set_data(data)
    for key, value in stream.items():
        if key not in ("/Length", "/Filter", "/DecodeParms"):
            decoded[key] = value
    stream.decoded_self = decoded


def ascii85_decode(data: bytes) -> bytes:
    """The bytes ``pypdf.filters.ASCII85Decode.decode(data)`` returns (it is called for the rare cases)."""
    body = _common_body(data)
    decoded = _decode_body(body) if body is not None else None
    if decoded is not None:
        return decoded
    from pypdf.filters import ASCII85Decode

    return ASCII85Decode.decode(data)


def python_ascii85(body: bytes) -> bytes | None:
    """Plain ASCII85 digits to bytes (``None`` where a group passes 2**32 - 1); ``_ascii85.decode`` in C."""
    padding = -len(body) % 5  # a short last group is read as if padded with "u", then cut
    digits = iter(body + b"u" * padding)
    groups = [
        a * 52200625 + b * 614125 + c * 7225 + d * 85 + e - _OFFSET
        for a, b, c, d, e in zip(digits, digits, digits, digits, digits, strict=True)
    ]
    try:
        decoded = struct.pack(f">{len(groups)}I", *groups)
    except struct.error:  # a group over 2**32 - 1: pypdf's filter says what it makes of it
        return None
    return decoded[: len(decoded) - padding]


_decode_body = _c_decode if _c_decode is not None else python_ascii85


def _common_body(data: bytes) -> bytes | None:
    """The digits between the markers, whitespace removed; ``None`` unless they are all plain digits."""
    data = data.strip(WHITESPACE)
    if len(data) > 2 and data.endswith(b">"):
        data = data[:-1].rstrip(WHITESPACE) + data[-1:]
    if not data.endswith(b"~>"):
        return None  # pypdf warns of the missing end marker
    body = data[2:-2] if data.startswith(b"<~") else data[:-2]
    body = body.translate(None, WHITESPACE)
    return None if body.translate(None, _DIGITS) else body


class _DamageWatch(logging.Handler):
    """Collects, on one thread, pypdf's reports of data it could read only in part."""

    # zlib's own wording ("Error -3 while decompressing data: invalid block type"): pypdf logs
    # it when it falls back to decoding byte by byte, skipping what it cannot read. The others
    # are objects it could not parse and replaced by what it could (a font dictionary with its
    # keys shifted, a missing object read as null).
    SIGNS = ("while decompressing data", "PdfReadError", "Invalid Elementary Object", "not defined", "Unable to find")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.thread == self.thread and any(sign in message for sign in self.SIGNS):
            self.messages.append(message)


_PYPDF = logging.getLogger("pypdf")


@contextmanager
def damaged_objects_raise(file: str, page: int) -> Iterator[None]:
    """Turn what pypdf could read only in part, while reading a page, into :class:`DamagedPdfError`.

    With ``strict=False`` pypdf recovers what it can of corrupt Flate data and of objects it
    cannot parse, and logs a warning: the page would silently lose text (line items) or read
    with wrong fonts (words run together), and the invoice would still be booked. A stream
    with a few stray bytes after its end (a known producer quirk) and a wrong cross-reference
    offset (rebuilt when the file is opened) read without such a warning and are accepted.
    """
    watch = _DamageWatch()
    _PYPDF.addHandler(watch)
    try:
        yield
    finally:
        _PYPDF.removeHandler(watch)
    if watch.messages:
        raise DamagedPdfError(f"damaged content, it cannot be read in full ({watch.messages[0]})", file=file, page=page)
