"""A content stream's operators, exactly as pypdf parses them, in a fraction of its time.

pypdf's :class:`~pypdf.generic.ContentStream` reads a content stream one byte at a time through
``seek`` and ``read``; on this project's documents that is about two thirds of the default
engine's time. :func:`operations` reads the same bytes with one regular expression and gives the
same list, ``[(operands, operator), ...]``, built of the same pypdf objects
(:class:`~pypdf.generic.NumberObject`, :class:`~pypdf.generic.FloatObject`,
:class:`~pypdf.generic.NameObject`, :class:`~pypdf.generic.ByteStringObject`,
:class:`~pypdf.generic.ArrayObject`).

It reads only the part of the syntax it can read exactly as pypdf does: numbers, names,
literal strings (parentheses inside one deep) and hexadecimal ones, arrays and dictionaries of
those, operators, and comments between them. Anything else in a stream (an inline image, a
boolean or ``null`` in an array, a name or string escape pypdf decodes its own way or warns
about, a number pypdf would replace by 0, a repeated dictionary key, a token near one of pypdf's
length limits, an ``R`` pypdf might take for a reference, nesting deep enough for pypdf's
recursion to matter, a byte pypdf refuses) hands the whole stream to pypdf, which parses it,
warns and fails as it always has. ``test_content_tokens.py`` holds the two to the same result on
every content stream of ``test_invoices/``, on each piece of syntax, and on mutated streams.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    ContentStream,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
)

try:  # the C scan (see pyproject.toml): python_parse, faster
    from cc_perf_dagster.core._content_tokens import parse as _c_parse
except ImportError:  # built where a C compiler was at install; python_parse otherwise
    _c_parse = None

__all__ = ["ACCELERATED", "operations", "parse", "python_parse"]

# Whether parse runs in C (the extension was built).
ACCELERATED = _c_parse is not None

# Where pypdf ends an operator or a name (``NameObject.delimiter_pattern``: \s holds \v, not NUL).
_END = rb"[^ \t\n\r\f\v()<>\[\]{}/%]"
_PLAIN = rb"[^()\\]*(?:\\.[^()\\]*)*"  # a string's bytes up to an unescaped parenthesis
# One token after the whitespace pypdf skips (NUL, tab, line feed, form feed, carriage return,
# space; not \v, which pypdf refuses outside arrays). The group that matched says what it is;
# each byte but trailing whitespace is in some match, so ``finditer`` skips nothing.
_TOKEN = re.compile(
    rb"[\x00\t\n\f\r ]*(?:"
    rb"([0-9+\-.][0-9+,\-.]*)|"  # 1: a number (pypdf's NumberPattern: ``+-.`` is a range, holding ``,``)
    rb"([A-Za-z'\x22]" + _END + rb"*)|"  # 2: an operator
    rb"(/" + _END + rb"*)|"  # 3: a name
    rb"\((" + _PLAIN + rb"(?:\(" + _PLAIN + rb"\)" + _PLAIN + rb")*)\)|"  # 4: a string (parentheses one deep)
    rb"<(?!<)([0-9A-Fa-f\x00\t\n\f\r ]*)>|"  # 5: a hexadecimal string
    rb"(\[)|(\])|(<<)|(>>)|"  # 6, 7: an array opens, closes; 8, 9: a dictionary
    rb"(%[^\r\n]*[\r\n]?)|"  # 10: a comment, to the end of its line (the line break read with it)
    rb"([^\x00\t\n\f\r ]))",  # 11: anything else (so that no byte is passed over)
    re.DOTALL,
)
_WHITESPACE = re.compile(rb"[\x00\t\n\f\r ]*")
# fmt: off
_ESCAPES = {  # pypdf's own table (``pypdf.generic._utils.__ESCAPE_DICT__``)
    b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"/": b"/",
    b"\\": b"\\", b" ": b" ", b"%": b"%", b"<": b"<", b">": b">", b"[": b"[", b"]": b"]", b"#": b"#",
    b"_": b"_", b"&": b"&", b"$": b"$",
}
# fmt: on
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|[\r\n][\r\n]?|.)", re.DOTALL)
_NOT_HEX = re.compile(rb"[\x00\t\n\f\r ]")
# Lengths kept well inside pypdf's limits (an operator 128 bytes; a number 47, the 20 bytes it
# reads at once and then chunks to 64; a name 4,096), and streams short enough that their tokens
# stay inside its budget (2,000,000 a stream, each token taking one byte at least, a
# dictionary's entry two; 100,000 in an array).
_MAX_OPERATOR = 96
_MAX_NUMBER = 40  # (jsPDF writes numbers of 20 characters)
_MAX_NAME = 2048
_MAX_BYTES = 1_000_000
_MAX_ITEMS = 50_000
_MAX_DEPTH = 32  # (pypdf recurses: a few hundred levels exhaust Python's stack)


class _Unsure(Exception):
    """The stream holds syntax this reader does not vouch for: pypdf parses it."""


def operations(stream: Any, reader: Any) -> list:
    """``ContentStream(stream, reader, "bytes").operations``, read faster where that is exact.

    Args:
        stream: A content stream, or an array of them, as on a page's ``/Contents``.
        reader: The pypdf reader the stream comes from.
    """
    content = ContentStream(stream, reader, "bytes")  # joins an array's streams as pypdf does
    try:
        return parse(content.get_data())
    except _Unsure:
        return content.operations


def parse(data: bytes) -> list:
    """The operations of decoded content ``data``, as pypdf parses them.

    Equal numbers (and names) in one stream may be one object (pypdf makes one per token; both
    are immutable). Runs in C where the extension was built (:data:`ACCELERATED`), else
    :func:`python_parse`; the two give the same result, exactly.

    Raises:
        _Unsure: ``data`` holds syntax only pypdf's own parser may answer for.
    """
    if len(data) > _MAX_BYTES:
        raise _Unsure("a stream long enough for pypdf's token budget to matter")
    if _c_parse is None:
        return python_parse(data)
    return _c_parse(
        data, _number, _name, _literal, _dictionary, ArrayObject, ByteStringObject, _Unsure,
        _MAX_OPERATOR, _MAX_DEPTH, _MAX_ITEMS,
    )  # fmt: skip


def python_parse(data: bytes) -> list:
    """:func:`parse` in Python: the reference the C extension ``_content_tokens`` follows, and its fallback."""
    result: list = []
    operands: list = []
    current = operands  # where the next object goes: the operands, or an open array's or dictionary's items
    stack: list[list] = []  # the lists that hold the arrays and dictionaries open, outermost first
    numbers: dict[bytes, Any] = {}
    names: dict[bytes, NameObject] = {}
    for found in _TOKEN.finditer(data):
        kind = found.lastindex
        if kind == 1:
            current.append(_kept(numbers, _number, found[1]))
        elif kind == 2:
            operator = found[2]
            if stack or len(operator) > _MAX_OPERATOR or operator == b"BI":
                raise _Unsure("a boolean or null in an array, a long operator or an inline image")
            if operator[0] == 0x52 and not operator[1:2].isalpha():
                raise _Unsure("'R' after two numbers: pypdf may read a reference")
            result.append((operands, operator))
            operands = current = []
        elif kind == 3:
            current.append(_kept(names, _name, found[3]))
        elif kind == 4:
            current.append(_literal(found[4]))
        elif kind == 5:
            current.append(_hex_string(found[5]))
        elif kind == 6 or kind == 8:
            if len(stack) >= _MAX_DEPTH:
                raise _Unsure("arrays or dictionaries nested deeper than pypdf's recursion may go")
            stack.append(current)
            current = ArrayObject() if kind == 6 else _OpenDictionary()
        elif kind == 7 or kind == 9:
            if not stack or (kind == 7) != (type(current) is ArrayObject) or len(current) > _MAX_ITEMS:
                raise _Unsure("a stray closing bracket, or a long array or dictionary")
            closed = current if kind == 7 else _dictionary(current, data, found.end())
            current = stack.pop()
            current.append(closed)
        elif kind == 11:
            raise _Unsure("a byte pypdf refuses or reads its own way")
        elif stack:
            raise _Unsure("a comment inside an array or a dictionary")
    if stack:
        raise _Unsure("an array or dictionary left open: pypdf reads it to the end")
    return result


def _kept(cache: dict[bytes, Any], make: Callable[[bytes], Any], token: bytes) -> Any:
    """``make(token)``, made once per stream and token (as ``cached`` in ``_content_tokens.c``)."""
    value = cache.get(token)
    if value is None:
        value = cache[token] = make(token)
    return value


class _OpenDictionary(list):
    """The keys and values of a dictionary being read, in order."""


def _dictionary(items: list, data: bytes, position: int) -> DictionaryObject:
    """The dictionary of ``items`` read up to ``position``, where pypdf would read it the same."""
    keys = items[0::2]
    if len(items) % 2 or not all(type(key) is NameObject for key in keys) or len(set(keys)) != len(keys):
        raise _Unsure("a dictionary pypdf warns about: a key missing or repeated")
    if data.startswith(b"stream", _WHITESPACE.match(data, position).end()):
        raise _Unsure("a dictionary followed by 'stream'")
    dictionary = DictionaryObject()
    dictionary.update(zip(keys, items[1::2], strict=True))
    return dictionary


def _number(token: bytes) -> Any:
    if len(token) > _MAX_NUMBER:
        raise _Unsure
    try:
        if b"." in token:
            return float.__new__(FloatObject, float(token))
        return int.__new__(NumberObject, int(token))
    except ValueError:
        raise _Unsure from None  # pypdf warns and reads 0


def _name(token: bytes) -> NameObject:
    if len(token) > _MAX_NAME or b"#" in token:
        raise _Unsure
    try:
        return NameObject(token.decode())
    except UnicodeDecodeError:
        raise _Unsure from None  # pypdf tries other character sets


def _literal(body: bytes) -> ByteStringObject:
    if b"\\" in body:
        body = _ESCAPE.sub(_unescape, body)
    return ByteStringObject(body)


def _unescape(found: re.Match) -> bytes:
    escaped = found[1]
    first = escaped[:1]
    if first in _ESCAPES and len(escaped) == 1:
        return _ESCAPES[first]
    if b"0" <= first <= b"7":
        code = int(escaped, 8)
        if code > 255:
            raise _Unsure  # pypdf keeps the backslash and reads the digits again
        return bytes((code,))
    if first in b"\r\n":
        return b""  # a line break escaped: nothing
    raise _Unsure  # pypdf warns and keeps the backslash


def _hex_string(body: bytes) -> ByteStringObject:
    return ByteStringObject(_hex(body))


def _hex(body: bytes) -> bytes:
    digits = _NOT_HEX.sub(b"", body)
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode())
