"""ASCII85 decoding as pypdf's ``/ASCII85Decode`` filter does it, without a Python loop per byte.

The Flate checksum check of a page's content streams (``pypdf_engine``) decodes the ASCII85
layer itself before inflating. The standard library's :func:`base64.a85decode` walks the data one
byte at a time in Python; here the common case (whitespace, an ``~>`` end marker, no ``z``
abbreviation) is read five digits at a time and packed in one call. Any other input goes to
pypdf's own filter, so the result, warnings and errors are always pypdf's.
"""

from __future__ import annotations

import struct

# pypdf's whitespace (``pypdf._utils.WHITESPACES``): stripped around the data, ignored inside.
WHITESPACE = b"\x00\t\n\f\r "
_DIGITS = bytes(range(ord("!"), ord("u") + 1))
# What subtracting 33 from each of the five digits takes away from a group's value.
_OFFSET = 33 * (85**4 + 85**3 + 85**2 + 85 + 1)


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
        try:
            decoded = struct.pack(f">{len(groups)}I", *groups)
        except struct.error:  # a group over 2**32 - 1: pypdf says so
            pass
        else:
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
