"""The Flate check's ASCII85 decoder returns what pypdf's ``/ASCII85Decode`` returns, errors included."""

from __future__ import annotations

import base64
import random

import pytest
from pypdf.filters import ASCII85Decode

from cc_perf_dagster.core.stream_check import _decode_body, ascii85_decode, python_ascii85


def outcome(decode, data: bytes) -> bytes | str:
    try:
        return decode(data)
    except Exception as exc:  # the error is part of the behaviour
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize(
    "data",
    [
        b'<~87cURD]i,"Ebo80~>',
        b'  87cURD]i,\n"Ebo80~ \n>\r\n',
        b'87cURD]i,"Ebo8~>',  # a short last group
        b"z!!~>",  # the zero abbreviation
        b's8W-"~>',  # a group over 2**32 - 1
        b'87cURD]i,"Ebo80',  # no end marker
        b"87cU{RD~>",  # not a digit
        b"~>",
        b"",
    ],
)
def test_known_inputs(data):
    assert outcome(ascii85_decode, data) == outcome(ASCII85Decode.decode, data)


def test_random_inputs_with_whitespace_and_damage():
    rng = random.Random(16)
    for _ in range(3000):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(40))) + b"\0" * 4 * (rng.random() < 0.3)
        data = bytearray(base64.a85encode(raw, adobe=rng.random() < 0.7, wrapcol=rng.choice([0, 7, 75])))
        for _ in range(rng.randrange(3)):
            at = rng.randrange(len(data) + 1)
            data[at:at] = rng.choice([b" ", b"\n", b"\x00", b"~>", b"<~", b"z", b"uuuuu", bytes([rng.randrange(256)])])
        assert outcome(ascii85_decode, bytes(data)) == outcome(ASCII85Decode.decode, bytes(data)), bytes(data)


def content_streams(reader) -> list:
    from pypdf.generic import ArrayObject

    out = []
    for page in reader.pages:
        contents = page["/Contents"].get_object()
        out += [s.get_object() for s in contents] if isinstance(contents, ArrayObject) else [contents]
    return out


def test_the_check_hands_pypdf_the_data_pypdf_decodes():
    from pypdf import PdfReader

    from cc_perf_dagster.core.stream_check import check_content_streams
    from cc_perf_dagster_tests.conftest import PRODUCER_INVOICES, TEST_INVOICES

    kept = 0
    for path in [*TEST_INVOICES.glob("*.pdf"), *PRODUCER_INVOICES.glob("*/*.pdf")]:
        checked, fresh = PdfReader(path), PdfReader(path)
        for page in checked.pages:
            check_content_streams(page.get("/Contents"), path.name, 1, encrypted=checked.is_encrypted)
        for ours, theirs in zip(content_streams(checked), content_streams(fresh), strict=True):
            kept += getattr(ours, "decoded_self", None) is not None
            assert ours.get_data() == theirs.get_data(), path.name
    assert kept > 50  # the test invoices' streams are ASCII85 and Flate: all kept


def test_streams_over_the_limits_are_left_to_pypdf(tmp_path, monkeypatch):
    import pypdf
    from pypdf import PdfReader

    from cc_perf_dagster.core import stream_check
    from cc_perf_dagster.core.errors import DamagedPdfError
    from cc_perf_dagster.core.pdf import PdfDocument
    from cc_perf_dagster_tests.conftest import TEST_INVOICES

    pdf = TEST_INVOICES / "CS003837319.pdf"
    monkeypatch.setattr(stream_check, "KEEP_AT_MOST", 100)
    reader = PdfReader(pdf)
    stream_check.check_content_streams(reader.pages[0].get("/Contents"), pdf.name, 1, encrypted=False)
    assert content_streams(reader)[0].decoded_self is None  # larger than kept: pypdf decodes it
    monkeypatch.undo()
    with pypdf.apply_configuration(zlib_maximum_output_length=100):  # pypdf's own limit still refuses
        with PdfDocument(pdf) as doc, pytest.raises(DamagedPdfError, match="page 1"):
            doc.content_hash(1)


@pytest.mark.skipif(_decode_body is python_ascii85, reason="the C extension _ascii85 was not built (no C compiler)")
def test_ascii85_in_c_decodes_as_the_python_loop():
    rng = random.Random(20261206)
    bodies = [bytes(rng.randrange(33, 118) for _ in range(rng.randrange(0, 60))) for _ in range(2000)]
    bodies += [b"s8W-!", b's8W-"', b"uuuuu", b"!", b"!!", b"u"]  # the largest group, one past it, short groups
    assert [_decode_body(body) for body in bodies] == [python_ascii85(body) for body in bodies]
