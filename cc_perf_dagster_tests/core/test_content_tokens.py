"""The content-stream reader gives exactly pypdf's operations, or leaves the stream to pypdf.

``content_tokens.parse`` either returns what ``pypdf.generic.ContentStream(...).operations``
returns (same operators, same operand objects, same types) or raises ``_Unsure``, and then
``operations`` asks pypdf. These hold it to that on every content stream of the repository's
PDFs, on each piece of syntax one at a time, and on mutated streams, where pypdf also must not
warn about what the fast reader accepted (its warnings reach the document).
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, ContentStream

from cc_perf_dagster.core.content_tokens import ACCELERATED, _Unsure, operations, parse, python_parse

INVOICES = Path(__file__).resolve().parents[2] / "test_invoices"


def _shape(value):
    """A value's type and content, all the way down (floats by their exact bits)."""
    if isinstance(value, dict):
        return type(value).__name__, sorted((_shape(k), _shape(v)) for k, v in value.items())
    if isinstance(value, list):
        return type(value).__name__, [_shape(item) for item in value]
    if isinstance(value, float):
        return type(value).__name__, value.hex()
    return type(value).__name__, repr(value)


def _shapes(ops: list) -> list:
    return [(_shape(operands), operator) for operands, operator in ops]


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _pypdf(data: bytes) -> tuple[list | None, str | None, list[str]]:
    """pypdf's operations of ``data`` (or the error it raises), and what it warned."""
    handler = _Warnings()
    logger = logging.getLogger("pypdf")
    logger.addHandler(handler)
    try:
        stream = ContentStream(None, None, "bytes")
        stream.set_data(data)
        try:
            return _shapes(stream.operations), None, handler.messages
        except Exception as exc:  # any error pypdf raises is compared
            return None, type(exc).__name__, handler.messages
    finally:
        logger.removeHandler(handler)


def _python_and_c(data: bytes) -> list:
    """``python_parse(data)``, after checking that ``parse`` (the C scan, where built) gives the same.

    Raises:
        _Unsure: From both, for the same reason.
    """
    try:
        reference = python_parse(data)
    except _Unsure as exc:
        with pytest.raises(_Unsure) as raised:
            parse(data)
        assert str(raised.value) == str(exc), data[:200]
        raise
    assert _shapes(parse(data)) == _shapes(reference), data[:200]
    return reference


def _agrees(data: bytes) -> bool:
    """Whether the fast reader (Python and C alike) gave pypdf's result; ``False``: it left ``data`` to pypdf."""
    try:
        mine = _python_and_c(data)
    except _Unsure:
        return False
    expected, error, warned = _pypdf(data)
    assert error is None, f"pypdf fails ({error}) on what the fast reader read: {data[:200]!r}"
    assert not warned, f"pypdf warns ({warned[:2]}) about what the fast reader read: {data[:200]!r}"
    assert _shapes(mine) == expected, f"not pypdf's operations: {data[:200]!r}"
    return True


def _content_streams():
    for path in sorted(INVOICES.rglob("*.pdf")):
        try:
            reader = PdfReader(path, strict=False)
            pages = list(reader.pages)
        except Exception:  # the damaged fixtures: their pages are not read
            continue
        for number, page in enumerate(pages, 1):
            contents = page.get("/Contents")
            if contents is not None:
                yield f"{path.relative_to(INVOICES)} p{number}", ContentStream(contents.get_object(), reader, "bytes")


CORPUS = list(_content_streams())


def test_the_c_build_is_there():
    # `pip install` builds it wherever a C compiler is (the dev machines and CI have one); every
    # test here runs both the C scan and python_parse where it was built.
    if not ACCELERATED:
        if os.environ.get("CI") == "true":
            pytest.fail("cc_perf_dagster.core._content_tokens was not built: is gcc or the Python headers missing?")
        pytest.skip("cc_perf_dagster.core._content_tokens was not built (no C compiler at install): Python only")


def test_every_fixture_stream_reads_as_pypdf_reads_it_and_fast():
    assert len(CORPUS) > 250
    fast = [name for name, stream in CORPUS if _agrees(stream.get_data())]
    # Every producer of the corpus writes only what the fast reader reads (typst's parentheses, tagged
    # PDFs' marked-content dictionaries, CID strings included): none is left to pypdf.
    assert len(fast) == len(CORPUS), sorted({name for name, _ in CORPUS} - set(fast))[:5]


@pytest.mark.parametrize(
    "data",
    [
        b"BT /F1 12 Tf 1 0 0 1 72.5 700 Tm (Hello) Tj ET",
        b"[(a) -120 (b) 3.5 <4142 43>] TJ [] TJ [[1 [2]] (x)] TJ",
        b"(\\n\\r\\t\\b\\f\\(\\)\\/\\\\\\ \\%\\<\\>\\[\\]\\#\\_\\&\\$) Tj",  # pypdf's escape table, entry by entry
        b"(\\101\\12\\1234\\0\\7x\\08) Tj (a\\\r\nb\\\nc\\\rd\\\r\re\\\n\rf) Tj",  # octal; escaped line breaks
        b"(a(b)c) Tj (()) Tj (a\\)b(\\(c)) Tj (\x00\x01\r\n\xff) Tj",  # parentheses one deep; raw bytes
        b"<> Tj <41 4 2\n\x00> Tj <abc> Tj <ABCDEF0> Tj",  # hexadecimal: spaces, odd length
        b"0 g 1 0 0 RG -.5 +.5 5. 007 -0 1.000001 3.14159265358979 123456789012345678 Tc",
        b"802.8897637795276978 0.5669291338582677 Td 1234567890123456789012345678901234567.99 Tc",  # jsPDF's
        b"/P <</MCID 0>> BDC EMC /Span<</ActualText(x)/K[1 2]/D<</E 1.5>>>>BDC EMC <<>> BDC",
        b"% a comment\r\n1 w %another\n%\rq Q % at the end",
        b"/a.b-c_d Do / Do /\xc3\xa9t\xc3\xa9 Do /x\x00y Do",  # names: empty, UTF-8, a NUL pypdf keeps
        b"' \" (x) ' 1 2 (y) \" true false null endobj Tj0 Tj\x00 12abc",  # operators pypdf reads as such
        b"\x00\t\n\f\r 1\x002\x00re\x00 \n",  # every whitespace byte pypdf skips
        b"1 2 3",  # operands with no operator are dropped
        b"",
    ],
)
def test_syntax_the_fast_reader_reads_comes_out_as_pypdf_gives_it(data):
    assert _agrees(data)


@pytest.mark.parametrize(
    "data",
    [
        b"q BI /W 1 /H 1 /BPC 8 /CS /G ID \x00 EI Q",  # an inline image
        b"(\\q) Tj",  # an escape pypdf warns about
        b"(\\777) Tj",  # an octal escape above 255: pypdf keeps the backslash
        b"/Im#20a Do",  # a name with # escapes
        b"/\xe9 Do",  # a name that is not UTF-8: pypdf tries other character sets
        b"1 0 R 2 0 R0",  # pypdf takes "1 0 R" for a reference (and fails)
        b"[true] TJ",
        b"[null 1] TJ",
        b"[(a) % comment\n] TJ",
        b"((a(b))) Tj",  # parentheses two deep
        b"(a((b)c) Tj (d) Tj",  # two deep, and never closed: pypdf fails (a scan that took one level for two would not)
        b"<</A 1 /A 2>> BDC",  # a repeated key: pypdf warns
        b"<</A>> BDC",  # a key without a value
        b"<<1 2>> BDC",  # a key that is no name
        b"<</A 1>> stream\nabc\nendstream",  # a dictionary followed by "stream"
        b"] Tj",
        b"[(a) TJ",  # an array left open: pypdf reads to the end
        b"(a Tj",  # a string left open: pypdf fails
        b"1\x0b2 re",  # a vertical tab: pypdf refuses it here
        b"1,5 Tw -- Tw . Tw 1.2.3 Tw",  # numbers pypdf reads as 0, warning
        b"1" * 41 + b" Tw",  # a long number, near where pypdf stops reading one
        b"1" * 60 + b" Tw",  # past it: pypdf fails
        b"{ } Tj",
        b"<< /A 1 > BDC",
        b"<4G> Tj",
        b"[" * 40 + b"]" * 40 + b" TJ",  # nesting deep enough for pypdf's recursion to matter
        b"Tj" + b"x" * 200,  # an operator past pypdf's length limit
    ],
)
def test_syntax_only_pypdf_answers_for_is_left_to_pypdf(data):
    with pytest.raises(_Unsure):
        _python_and_c(data)
    stream = ContentStream(None, None, "bytes")
    stream.set_data(data)
    expected, error, _ = _pypdf(data)
    if error is None:
        assert _shapes(operations(stream, None)) == expected
    else:  # pypdf's own error, as before
        with pytest.raises(Exception) as raised:
            operations(stream, None)
        assert type(raised.value).__name__ == error


_INSERTS = [
    b"(", b")", b"\\", b"<", b">", b"<<", b">>", b"[", b"]", b"{", b"/", b"%", b"R", b" R ", b"0 0 R", b"\x00",
    b"\x0b", b"\r", b"\n", b"#", b"#41", b".", b",", b"-", b"+", b"e", b"null", b"true", b"BI", b"stream",
    b"\\1", b"\\777", b"\\\r\n", b"\\q", b" ", b"\xff", b"\xe9", b"1", b"9.", b"'", b'"', b"(a(b)c)", b"<</K 1>>",
]  # fmt: skip


def test_mutated_streams_are_read_as_pypdf_reads_them_or_left_to_it():
    rng = random.Random(20261206)
    samples = [stream.get_data() for _, stream in CORPUS[::7]]
    fast = 0
    for _ in range(3000):
        data = rng.choice(samples)
        start = rng.randrange(max(1, len(data) - 600))
        data = bytearray(data[start : start + rng.randrange(20, 600)])
        for _ in range(rng.choice([1, 1, 2, 3])):
            at = rng.randrange(len(data) + 1)
            change = rng.randrange(4)
            if change == 0:
                data[at:at] = rng.choice(_INSERTS)
            elif change == 1:
                del data[at : at + rng.randrange(1, 12)]
            elif change == 2 and data:
                data[min(at, len(data) - 1)] = rng.randrange(256)
            else:
                data[at:at] = data[at : at + rng.randrange(1, 30)]
        fast += _agrees(bytes(data))
    assert fast > 500  # the mutants exercise the fast reader, not only the way round it


def test_operations_joins_an_array_of_streams_as_pypdf_does():
    reader = PdfReader(INVOICES / "CS003702114.pdf")
    first, second = (page.raw_get("/Contents") for page in reader.pages[:2])
    both = ArrayObject([first, second])
    expected = _shapes(ContentStream(both, reader, "bytes").operations)
    assert len(expected) > 100
    assert _shapes(operations(both, reader)) == expected
    assert _agrees(ContentStream(both, reader, "bytes").get_data())
