"""Damaged streams: Flate checksums, and pypdf's reports of what it could read only in part.

:func:`damaged_objects_raise` turns those reports, while a page is read, into an error.

pypdf forgives a Flate stream whose checksum fails (:func:`check_flate_streams` does not). The
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

import contextlib
import logging
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cc_perf_dagster.core.errors import DamagedPdfError

# pypdf's whitespace (``pypdf._utils.WHITESPACES``): stripped around the data, ignored inside.
WHITESPACE = b"\x00\t\n\f\r "
_DIGITS = bytes(range(ord("!"), ord("u") + 1))
# What subtracting 33 from each of the five digits takes away from a group's value.
_OFFSET = 33 * (85**4 + 85**3 + 85**2 + 85 + 1)
# Decoded data larger than this is not kept for pypdf (the check itself reads in 1 MiB steps).
KEEP_AT_MOST = 8 << 20
_CHUNK = 1 << 20


def check_flate_streams(contents: Any, file: str, page: int) -> None:
    """Raise :class:`DamagedPdfError` for a Flate content stream whose data fails zlib's own checksum.

    pypdf forgives a bad checksum (it retries without the stream's last bytes, for producers
    that add stray bytes after the data): a changed byte inside the data then reads as other
    text without any warning. Stray bytes *after* a complete stream are still accepted.
    """
    from pypdf.filters import ASCIIHexDecode
    from pypdf.generic import ArrayObject

    if contents is None:
        return
    contents = contents.get_object()
    for stream in list(contents) if isinstance(contents, ArrayObject) else [contents]:
        stream = stream.get_object()
        filters = stream.get("/Filter")
        filters = [filters] if isinstance(filters, str) else list(filters or ())
        if "/FlateDecode" not in filters or not hasattr(stream, "_data"):
            continue
        data = stream._data
        work = [len(data)]  # what pypdf counts against its decoding limit: each filter's input and output
        for name in filters[: filters.index("/FlateDecode")]:
            if name not in ("/ASCII85Decode", "/ASCIIHexDecode"):
                return  # an unusual chain: leave it to pypdf
            data = ascii85_decode(data) if name == "/ASCII85Decode" else ASCIIHexDecode.decode(data)
            work += [len(data), len(data)]
        inflater = zlib.decompressobj()
        decoded: list[bytes] | None = [] if _keepable(stream, filters) else None
        size = 0
        try:
            while data and not inflater.eof:
                chunk = inflater.decompress(data, _CHUNK)
                data = inflater.unconsumed_tail
                size += len(chunk)
                if decoded is not None and size <= KEEP_AT_MOST:
                    decoded.append(chunk)
                else:
                    decoded = None
        except zlib.error as exc:
            raise DamagedPdfError(
                f"damaged content stream, it cannot be decoded ({exc})", file=file, page=page
            ) from exc
        if not inflater.eof:
            raise DamagedPdfError("damaged content stream, its compressed data ends early", file=file, page=page)
        if decoded is not None:
            _keep(stream, b"".join(decoded), sum(work) + size)


def _keepable(stream: Any, filters: list[Any]) -> bool:
    """Whether pypdf's decoding of ``stream`` is plain ASCII85 and Flate (which the check repeats)."""
    return (
        filters in (["/FlateDecode"], ["/ASCII85Decode", "/FlateDecode"])
        and "/DecodeParms" not in stream
        and bool(stream._data)
        and getattr(stream, "decoded_self", False) is None  # an encoded stream pypdf has not decoded yet
    )


def _keep(stream: Any, data: bytes, work: int) -> None:
    """Give pypdf the decoded data, as its ``EncodedStreamObject.get_data`` would have made it."""
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
    if body is not None:
        padding = -len(body) % 5  # a short last group is read as if padded with "u", then cut
        digits = iter(body + b"u" * padding)
        groups = [
            a * 52200625 + b * 614125 + c * 7225 + d * 85 + e - _OFFSET
            for a, b, c, d, e in zip(digits, digits, digits, digits, digits, strict=True)
        ]
        with contextlib.suppress(struct.error):  # a group over 2**32 - 1: pypdf's filter below says so
            decoded = struct.pack(f">{len(groups)}I", *groups)
            return decoded[: len(decoded) - padding]
    from pypdf.filters import ASCII85Decode

    return ASCII85Decode.decode(data)


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
