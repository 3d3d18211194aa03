"""A small reader of a PDF's objects, for the pdfium engine's structure pass without pypdf.

The pdfium engine reads text with PDFium, but hashes pages and looks for damaged streams in
the file's objects (:mod:`~cc_perf_dagster.core.pdfium_structure`), which PDFium's API does not
show. pypdf did that alone before; importing it costs more than the pdfium command's whole
reading of a 15-page invoice. This reader reads what well-formed files hold, exactly as pypdf
reads them, and nothing else: a cross-reference table or stream whose every offset points at
its object, objects in their plain syntax, streams whose ``/Length`` ends at ``endstream``
(or one byte past it, as some ReportLab releases write them, which pypdf takes back too).
Anything else (an encrypted file, a rebuilt cross-reference, a name with ``#`` escapes, an
unusual filter, a string pypdf would decode otherwise) raises :class:`Unsupported`, and the
caller asks pypdf instead: this reader never decides that a file is damaged, only that it
cannot vouch for reading it as pypdf would.

The objects are :mod:`~cc_perf_dagster.core.pdf_values`', shaped as pypdf's, so a page hashes
the same through either reader (``test_pdfium_structure`` compares them).
"""

from __future__ import annotations

import re
from typing import Any

from cc_perf_dagster.core.pdf_values import (
    FALSE,
    NULL,
    TRUE,
    Array,
    Dictionary,
    Integer,
    Name,
    Real,
    Stream,
    Unsupported,
    _string,
)

__all__ = ["Dictionary", "Integer", "ObjectReader", "Reference", "Unsupported"]


class Reference:
    """An indirect reference, resolved through its reader (objects are read once)."""

    __slots__ = ("_reader", "generation", "idnum")

    def __init__(self, reader: ObjectReader, idnum: int, generation: int):
        self._reader, self.idnum, self.generation = reader, idnum, generation

    def get_object(self) -> Any:
        """The object referred to, read once by its reader."""
        return self._reader.resolve(self.idnum, self.generation)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reference) and (other.idnum, other.generation) == (self.idnum, self.generation)

    def __hash__(self) -> int:
        return hash((self.idnum, self.generation))

    def __repr__(self) -> str:
        raise Unsupported("a reference left unresolved")


_WS = b"\x00\t\n\f\r "
_SKIP = re.compile(rb"(?:[\x00\t\n\f\r ]+|%[^\r\n]*)*")
_WHITE = re.compile(rb"[\x00\t\n\f\r ]*")
_REGULAR = re.compile(rb"[^\x00\t\n\f\r ()<>\[\]{}/%]*")
# pypdf reads every character of "+-.0123456789" into a number, then parses it: "1.2.3" is one bad token.
_NUMBER_RUN = re.compile(rb"[+\-.0-9]+")
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)")
_ESCAPES = {ord(c): ord(v) for c, v in zip("nrtbf()\\/ %<>[]#_&$", "\n\r\t\b\f()\\/ %<>[]#_&$", strict=True)}
_OBJECT_HEAD = re.compile(rb"(\d+)[\x00\t\n\f\r ]+(\d+)[\x00\t\n\f\r ]+obj")
_LITERAL_PLAIN = re.compile(rb"[^()\\]*")
_REFERENCE = re.compile(rb"[\x00\t\n\f\r ]+(\d+)[\x00\t\n\f\r ]+R(?![^\x00\t\n\f\r ()<>\[\]{}/%])")
_SUBSECTION = re.compile(rb"(\d+)[ ]+(\d+)[ \t]*\r?\n?")
_ENTRY = re.compile(rb"[\x00\t\n\f\r ]*(\d{10}) (\d{5}) ([nf])")


class ObjectReader:
    """The objects of one PDF held in memory, located through its cross-reference sections.

    Raises:
        Unsupported: On creation: the file's structure is not one this reader reads as pypdf would.
    """

    def __init__(self, data: bytes):
        self.data = data
        self._offsets: dict[int, tuple[int, int] | None] = {}  # number -> (generation, offset); None: freed
        self._compressed: dict[int, tuple[int, int]] = {}  # number -> (object stream, index)
        self._objects: dict[int, Any] = {}
        self._object_streams: dict[int, _ObjectStream] = {}  # number -> its objects' places
        try:
            self.trailer = self._read_cross_references()
        except Exception as exc:  # (Unsupported is no Exception: it passes as it is)
            raise Unsupported(f"cross-references that cannot be read here ({exc!r})") from exc
        if "/Encrypt" in self.trailer:
            raise Unsupported("an encrypted file")

    def resolve(self, number: int, generation: int = 0) -> Any:
        """The object of that number (read once; later calls give the same object)."""
        found = self._objects.get(number)
        if found is None:
            try:
                found = self._objects[number] = self._read(number, generation)
            except Exception as exc:  # whatever else goes wrong reading it: pypdf says what it makes of it
                raise Unsupported(f"object {number} cannot be read here ({exc!r})") from exc
        return found

    def forget(self, number: int) -> Any:
        """Drop an object read before (a page's content stream, once read), returning it, if it was."""
        return self._objects.pop(number, None)

    def _read(self, number: int, generation: int) -> Any:
        if number in self._compressed:
            if generation != 0:
                raise Unsupported("a compressed object of another generation")
            return self._from_object_stream(number, *self._compressed[number])
        if self._offsets.get(number) is None or self._offsets[number][0] != generation:
            raise Unsupported(f"object {number} {generation} is not in the cross-reference table")
        head = _OBJECT_HEAD.match(self.data, self._offsets[number][1])
        if head is None or (int(head[1]), int(head[2])) != (number, generation):
            raise Unsupported(f"object {number} is not where the cross-reference table says")
        value, pos = self.parse(head.end())
        if isinstance(value, Dictionary):
            value, pos = self._stream(value, pos)
        pos = _SKIP.match(self.data, pos).end()
        if not self.data.startswith(b"endobj", pos):
            raise Unsupported(f"object {number} does not end with endobj")
        return value

    def _stream(self, entries: Dictionary, pos: int) -> tuple[Any, int]:
        """A stream's data, read as pypdf reads it: ``/Length`` bytes, or one fewer (ReportLab)."""
        data = self.data
        at = _WHITE.match(data, pos).end()  # pypdf looks past whitespace only, not comments
        if not data.startswith(b"stream", at):
            return entries, pos
        at += 6
        while data[at : at + 1] == b" ":
            at += 1
        if data[at : at + 2] == b"\r\n":
            at += 2
        elif data[at : at + 1] in (b"\n", b"\r"):
            at += 1
        else:
            raise Unsupported("stream keyword without an end of line")
        declared = entries.get("/Length")
        length = declared.get_object() if declared is not None else None
        if not isinstance(length, Integer) or length < 0 or at + length > len(data):
            raise Unsupported("a stream without a usable /Length")
        stream_data = data[at : at + length]
        end = at + length
        while end < len(data) and data[end] in _WS:
            end += 1
        if data.startswith(b"endstream", end):
            return Stream(entries, stream_data, declared), end + 9
        if data[end - 1 : end + 8] == b"endstream":  # pypdf's look one byte back
            return Stream(entries, stream_data[:-1], declared), end + 8
        raise Unsupported("a stream whose /Length does not end at endstream")

    def _from_object_stream(self, number: int, container: int, index: int) -> Any:
        packed = self._object_streams.get(container)
        if packed is None:
            stream = self.resolve(container)
            if not isinstance(stream, Stream) or stream.get("/Type") != "/ObjStm":
                raise Unsupported("an object stream that is not one")
            packed = self._object_streams[container] = _ObjectStream(stream, self)
        return packed.object(number)

    def parse(self, pos: int) -> tuple[Any, int]:
        """The object starting at ``pos`` (after whitespace), and where it ends."""
        data = self.data
        pos = _SKIP.match(data, pos).end()
        char = data[pos : pos + 1]
        if char == b"/":
            end = _REGULAR.match(data, pos + 1).end()
            name = data[pos:end]
            ends_elsewhere = b"\x0b" in name or data[end : end + 1] == b"\x00"  # pypdf: \s ends a name, \x00 not
            if b"#" in name or ends_elsewhere or not name.isascii() or end - pos > 4000:
                raise Unsupported("a name with # escapes, other than ASCII, or one pypdf ends elsewhere")
            return Name(name.decode("latin-1")), end
        if char == b"<":
            if data[pos + 1 : pos + 2] == b"<":
                return self._dictionary(pos + 2)
            end = data.find(b">", pos)
            digits = data[pos + 1 : end].translate(None, _WS)
            if end < 0 or digits.strip(b"0123456789abcdefABCDEF"):
                raise Unsupported("a damaged hex string")
            return _string(bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode())), end + 1
        if char == b"[":
            items, pos = Array(), pos + 1
            while True:
                pos = _SKIP.match(data, pos).end()
                if data[pos : pos + 1] == b"]":
                    return items, pos + 1
                value, pos = self.parse(pos)
                items.append(value)
        if char == b"(":
            return self._literal(pos + 1)
        number = _NUMBER_RUN.match(data, pos)
        if number is not None:
            token = number[0]
            if _NUMBER.fullmatch(token) is None or len(token) >= 64:  # pypdf's token limit is 64
                raise Unsupported(f"a number token {token[:16]!r} pypdf reads otherwise")
            if b"." in token:
                return Real(token), number.end()
            reference = _REFERENCE.match(data, number.end()) if token.isdigit() else None
            if reference is not None:
                return Reference(self, int(token), int(reference[1])), reference.end()
            return Integer(token), number.end()
        word = _REGULAR.match(data, pos).end()
        keyword = {b"true": TRUE, b"false": FALSE, b"null": NULL}.get(data[pos:word])
        if keyword is None:
            raise Unsupported(f"unexpected {data[pos : pos + 16]!r} at byte {pos}")
        return keyword, word

    def _dictionary(self, pos: int) -> tuple[Dictionary, int]:
        entries = Dictionary()
        while True:
            pos = _SKIP.match(self.data, pos).end()
            if self.data.startswith(b">>", pos):
                return entries, pos + 2
            key, pos = self.parse(pos)
            value, pos = self.parse(pos)
            if not isinstance(key, Name) or key in entries:
                raise Unsupported("a dictionary key that is no name, or given twice")
            entries[key] = value

    def _literal(self, pos: int) -> tuple[Any, int]:
        data, out, depth = self.data, bytearray(), 1
        while True:
            end = _LITERAL_PLAIN.match(data, pos).end()
            out += data[pos:end]
            char = data[end : end + 1]
            if not char:
                raise Unsupported("a string that does not end")
            if char == b"(":
                depth, pos = depth + 1, end + 1
                out += char
            elif char == b")":
                depth, pos = depth - 1, end + 1
                if depth == 0:
                    return _string(bytes(out)), pos
                out += char
            else:
                escaped = data[end + 1]
                if escaped in _ESCAPES:
                    out.append(_ESCAPES[escaped])
                    pos = end + 2
                elif 48 <= escaped <= 55:
                    digits = re.match(rb"[0-7]{1,3}", data[end + 1 : end + 4])[0]
                    if int(digits, 8) > 255:
                        raise Unsupported("an octal escape over 255")
                    out.append(int(digits, 8))
                    pos = end + 1 + len(digits)
                elif escaped in b"\r\n":
                    pos = end + 2 + (data[end + 2 : end + 3] in (b"\r", b"\n"))
                else:
                    raise Unsupported("an unusual escape in a string")

    def _read_cross_references(self) -> Dictionary:
        data = self.data
        found = re.search(rb"startxref[\x00\t\n\f\r ]+(\d+)[\x00\t\n\f\r ]+%%EOF[\x00\t\n\f\r ]*$", data[-1024:])
        if found is None:
            raise Unsupported("no startxref at the end")
        trailer, start, seen = None, int(found[1]), set()
        while start is not None:
            if start in seen or len(seen) > 64:
                raise Unsupported("cross-reference sections in a loop")
            seen.add(start)
            if data.startswith(b"xref", start):
                section = self._table(start + 4)
                hybrid = section.get("/XRefStm")  # a table with a stream for its compressed objects
                if hybrid is not None:
                    if not isinstance(hybrid, Integer):
                        raise Unsupported("an unusual /XRefStm")
                    self._xref_stream(int(hybrid), hybrid=True)
            else:
                section = self._xref_stream(start)
            if trailer is None:
                trailer = Dictionary(section)
            else:  # pypdf takes what the newer trailers leave out from the older
                trailer.update((key, value) for key, value in section.items() if key not in trailer)
            previous = section.get("/Prev")
            start = int(previous) if isinstance(previous, Integer) else None
            if previous is not None and start is None:
                raise Unsupported("an unusual /Prev")
        return trailer

    def _table(self, pos: int) -> Dictionary:
        data = self.data
        while True:
            pos = _SKIP.match(data, pos).end()
            if data.startswith(b"trailer", pos):
                trailer, _ = self.parse(pos + 7)
                if not isinstance(trailer, Dictionary):
                    raise Unsupported("a trailer that is no dictionary")
                return trailer
            head = _SUBSECTION.match(data, pos)
            if head is None:
                raise Unsupported("an unusual cross-reference table")
            first, count, pos = int(head[1]), int(head[2]), head.end()
            for number in range(first, first + count):
                entry = _ENTRY.match(data, pos)
                if entry is None:
                    raise Unsupported("an unusual cross-reference entry")
                pos = entry.end()
                if number not in self._offsets and number not in self._compressed:  # a later update's wins
                    self._offsets[number] = (int(entry[2]), int(entry[1])) if entry[3] == b"n" else None

    def _xref_stream(self, pos: int, *, hybrid: bool = False) -> Dictionary:
        """A cross-reference stream's entries; ``hybrid``: the one a table's ``/XRefStm`` names.

        A hybrid file's stream adds to its table as pypdf adds it: a compressed object where the
        table has none or a free entry (pypdf looks in object streams first, whatever the table
        freed), an uncompressed one only where the table has no entry at all; free entries add
        nothing.
        """
        head = _OBJECT_HEAD.match(self.data, pos)
        if head is None:
            raise Unsupported("startxref points at no cross-reference section")
        entries, at = self.parse(head.end())
        stream = self._stream(entries, at)[0] if isinstance(entries, Dictionary) else None
        if not isinstance(stream, Stream) or stream.get("/Type") != "/XRef":
            raise Unsupported("startxref points at no cross-reference stream")
        widths = [int(w) for w in stream["/W"]]
        size = int(stream["/Size"])
        index = [int(v) for v in stream.get("/Index", Array([Integer(0), Integer(size)]))]
        if len(widths) != 3 or widths[1] == 0 or len(index) % 2:
            raise Unsupported("an unusual cross-reference stream")
        rows, width, pos = stream.get_data(), sum(widths), 0
        for first, count in zip(index[0::2], index[1::2], strict=True):
            for number in range(first, first + count):
                row = rows[pos : pos + width]
                if len(row) < width:
                    raise Unsupported("a cross-reference stream cut short")
                pos += width
                kind = int.from_bytes(row[: widths[0]], "big") if widths[0] else 1
                second = int.from_bytes(row[widths[0] : widths[0] + widths[1]], "big")
                third = int.from_bytes(row[widths[0] + widths[1] :], "big")
                if hybrid:
                    self._add_hybrid(number, kind, second, third)
                    continue
                if number in self._offsets or number in self._compressed:
                    continue  # a later update's entry wins
                if kind == 0:
                    self._offsets[number] = None  # freed
                elif kind == 1:
                    self._offsets[number] = (third, second)
                elif kind == 2:
                    self._compressed[number] = (second, third)
                else:
                    raise Unsupported("an unknown cross-reference entry type")
        return stream

    def _add_hybrid(self, number: int, kind: int, second: int, third: int) -> None:
        if kind == 2 and number not in self._compressed and self._offsets.get(number) is None:
            self._offsets.pop(number, None)
            self._compressed[number] = (second, third)
        elif kind == 1 and number not in self._offsets and number not in self._compressed:
            self._offsets[number] = (third, second)
        elif kind not in (0, 1, 2):
            raise Unsupported("an unknown cross-reference entry type")


class _ObjectStream(ObjectReader):
    """The objects packed in one object stream: parsed from its data, references resolved by the file's reader."""

    def __init__(self, stream: Stream, owner: ObjectReader):  # no cross-references of its own
        self.data, self._owner = stream.get_data(), owner
        count, first = int(stream["/N"]), int(stream["/First"])
        numbers, pos = [], 0
        for _ in range(2 * count):
            value, pos = self.parse(pos)
            numbers.append(int(value))
        self._places = {numbers[2 * i]: first + numbers[2 * i + 1] for i in range(count)}

    def resolve(self, number: int, generation: int = 0) -> Any:
        """The owner's object of that number (a reference inside the stream is to the file's)."""
        return self._owner.resolve(number, generation)

    def object(self, number: int) -> Any:
        """Object ``number``, parsed where the stream's header places it."""
        if number not in self._places:
            raise Unsupported(f"object {number} is not in its object stream")
        return self.parse(self._places[number])[0]
