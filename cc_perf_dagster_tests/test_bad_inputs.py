"""Each committed bad input gets its own error type and a message naming the file."""

from __future__ import annotations

import pytest

from cc_perf_dagster.core import (
    DamagedPdfError,
    EmptyFileError,
    EncryptedPdfError,
    InvalidDocumentError,
    NotAPdfError,
    NoTextLayerError,
    UnsupportedDocumentError,
    extract_invoice,
)
from cc_perf_dagster_tests.conftest import BAD_INVOICES

CASES = [
    ("empty.pdf", EmptyFileError, "empty file"),
    ("not_a_pdf.pdf", NotAPdfError, "not a PDF"),
    ("truncated.pdf", DamagedPdfError, "truncated"),
    ("encrypted.pdf", EncryptedPdfError, "encrypted PDF"),
    ("scanned.pdf", NoTextLayerError, "no text layer"),
    ("other_vendor.pdf", UnsupportedDocumentError, "not a Creative Co-op document"),
]


@pytest.mark.parametrize(("name", "error", "reason"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_its_reason(name, error, reason, engine):
    with pytest.raises(error) as info:
        extract_invoice(BAD_INVOICES / name, engine=engine)
    assert isinstance(info.value, InvalidDocumentError)
    assert str(info.value).startswith(f"{name}: ")
    assert reason in info.value.reason


def test_every_bad_file_is_covered():
    assert sorted(p.name for p in BAD_INVOICES.iterdir()) == sorted(c[0] for c in CASES)
