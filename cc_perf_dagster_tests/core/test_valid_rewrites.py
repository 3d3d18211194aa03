"""Valid rewrites of a document read exactly like the original, with either engine.

The damage checks (``stream_check``: each stream's data as long as its ``/Length``, Flate data
that passes its checksum, fonts' programs and maps whole) must refuse what was damaged and
nothing else. qpdf (through pikepdf) writes the same document linearized, with its streams
uncompressed or recompressed, its objects in object streams, its page contents coalesced into
one stream or normalized, in QDF form, or encrypted with an empty user password (AES-256,
RC4-128): none of these may be refused or read otherwise. A probe with the qpdf command line on
2026-12-06 (11 files, those rewrites and a newline before each ``endstream``, both engines):
220 readings, all exact.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest

from cc_perf_dagster.core import extract_invoice, invoice_to_dict
from cc_perf_dagster.core.bookability import refusal
from cc_perf_dagster_tests.conftest import PRODUCER_INVOICES, TEST_INVOICES

SOURCES = [
    TEST_INVOICES / "CS003702114.pdf",  # reportlab: ASCII85 and Flate, a stream one byte short of its /Length
    PRODUCER_INVOICES / "chromium" / "CI004731586.pdf",  # Skia: CID fonts, a flipped page space
    PRODUCER_INVOICES / "firefox" / "CS003702114.pdf",  # cairo
    PRODUCER_INVOICES / "typst" / "CS003964075.pdf",  # krilla: tagged, CID TrueType
]


def _coalesced(pdf: pikepdf.Pdf) -> dict:
    for page in pdf.pages:
        page.contents_coalesce()
    return {}


UNCOMPRESSED = {"compress_streams": False, "stream_decode_level": pikepdf.StreamDecodeLevel.generalized}
REWRITES: dict[str, Callable[[pikepdf.Pdf], dict]] = {
    "linearized": lambda pdf: {"linearize": True},
    "uncompressed": lambda pdf: UNCOMPRESSED,
    "recompressed": lambda pdf: {"recompress_flate": True},
    "object-streams": lambda pdf: {"object_stream_mode": pikepdf.ObjectStreamMode.generate},
    "coalesced": _coalesced,
    "normalized": lambda pdf: {"normalize_content": True, "compress_streams": False},
    "qdf": lambda pdf: {"qdf": True},
    "aes-256": lambda pdf: {"encryption": pikepdf.Encryption(owner="owner", user="", R=6)},
    "rc4-128": lambda pdf: {"encryption": pikepdf.Encryption(owner="owner", user="", R=3, aes=False, metadata=False)},
}
# What a rewrite may change: the file, and the pages' content hashes (a rewrite may re-encode
# the streams the hash is taken over).
IGNORED = ("file", "sha256", "page_hashes")


def _comparable(pdf: Path, engine: str) -> dict:
    invoice = extract_invoice(pdf, engine=engine)
    assert refusal(invoice) is None
    return {k: v for k, v in invoice_to_dict(invoice).items() if k not in IGNORED}


# An original's reading, once per engine for all its rewrites (only compared, never changed).
_original = functools.cache(_comparable)


@pytest.mark.parametrize("rewrite", REWRITES)
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_valid_rewrite_reads_like_the_original(source, rewrite, engine, tmp_path):
    target = tmp_path / f"{source.stem}-{rewrite}.pdf"
    with pikepdf.open(source) as pdf:
        pdf.save(target, **REWRITES[rewrite](pdf))
    assert target.read_bytes() != source.read_bytes()
    assert _comparable(target, engine) == _original(source, engine)
