import dataclasses
import shutil

import pytest

from cc_perf_dagster.core import extract_invoice, invoice_to_dict
from cc_perf_dagster.core.cache import PageCache
from cc_perf_dagster.core.export import invoice_from_record, invoice_to_record
from cc_perf_dagster_tests.conftest import TEST_INVOICES
from cc_perf_dagster_tests.fixtures.generate import write_document
from cc_perf_dagster_tests.fixtures.model import Misprint
from cc_perf_dagster_tests.fixtures.specs import ci004848705

PDF = TEST_INVOICES / "CS003837319.pdf"


@pytest.mark.parametrize("producer", ["chromium", "weasyprint", "wkhtmltopdf"])
def test_text_its_fonts_map_to_no_text_is_undecodable_not_another_vendors(producer, engine, tmp_path):
    # Subset fonts without their /ToUnicode map read as control characters: the document may be
    # Creative Co-op's, so "not a Creative Co-op document" would mislead. Both the page-1 check
    # and the assembler (the Dagster path) say what is wrong.
    from cc_perf_dagster.core import UndecodableTextError, UnsupportedDocumentError
    from cc_perf_dagster.core.extract import assemble_document, parse_document_page
    from cc_perf_dagster.core.pdf import PdfDocument
    from cc_perf_dagster_tests.conftest import PRODUCER_INVOICES, without_unicode_maps

    pdf = without_unicode_maps(PRODUCER_INVOICES / producer / "CI004731586.pdf", tmp_path / "CI004731586.pdf")
    with pytest.raises(UndecodableTextError) as raised:
        extract_invoice(pdf, engine=engine)
    assert isinstance(raised.value, UnsupportedDocumentError) and raised.value.code == "undecodable_text"
    assert str(raised.value).startswith("CI004731586.pdf: page 1: the text cannot be read: its fonts map ")
    assert str(raised.value).endswith(
        " of its characters to no text (fonts without a Unicode map?), so no CS/CI number or vendor name can be read"
    )
    with PdfDocument(pdf, engine=engine) as doc:  # page by page, as the batch steps read them
        pages = [parse_document_page(doc, page) for page in doc.pages()]
    with pytest.raises(UndecodableTextError, match="the text cannot be read"):
        assemble_document("CI004731586.pdf", "0" * 64, pages)


def test_a_document_of_another_vendor_is_still_not_creative_coop(engine):
    from cc_perf_dagster.core import UndecodableTextError, UnsupportedDocumentError

    with pytest.raises(UnsupportedDocumentError, match="not a Creative Co-op document") as raised:
        extract_invoice(TEST_INVOICES / "bad" / "other_vendor.pdf", engine=engine)
    assert not isinstance(raised.value, UndecodableTextError)


def test_record_round_trip_is_lossless():
    invoice = extract_invoice(TEST_INVOICES / "CI004731586.pdf")  # rows without Your Price
    again = invoice_from_record(invoice_to_record(invoice))
    assert again == invoice


class TestWithCache:
    def test_second_extraction_is_a_document_hit_with_identical_output(self, tmp_path):
        cache = PageCache(tmp_path / "cache")
        first = extract_invoice(PDF, cache=cache)
        lookups = cache.counters.misses
        second = extract_invoice(PDF, cache=PageCache(tmp_path / "cache"))
        assert invoice_to_dict(second) == invoice_to_dict(first)
        assert lookups == 1 + first.page_count  # the document, then every page, missed once

    def test_a_renamed_copy_is_a_document_hit_under_its_new_name(self, tmp_path):
        cache = PageCache(tmp_path / "cache")
        extract_invoice(PDF, cache=cache)
        copy = tmp_path / "renamed copy.pdf"
        shutil.copy(PDF, copy)
        fresh = PageCache(tmp_path / "cache")
        invoice = extract_invoice(copy, cache=fresh)
        assert invoice.file == "renamed copy.pdf"
        assert (fresh.counters.l2_hits, fresh.counters.misses) == (1, 0)
        assert invoice_to_dict(invoice)["line_items"] == invoice_to_dict(extract_invoice(PDF))["line_items"]

    def test_one_engine_is_never_served_the_other_engines_results(self, tmp_path):
        from cc_perf_dagster.core.extract import document_key, page_key

        assert page_key("h", "pypdf") != page_key("h", "pdfium")
        assert document_key("s", "pypdf") != document_key("s", "pdfium")
        assert document_key("s") == document_key("s", "pypdf")  # pypdf is the default
        extract_invoice(PDF, cache=PageCache(tmp_path / "cache"), engine="pypdf")
        fresh = PageCache(tmp_path / "cache")
        invoice = extract_invoice(PDF, cache=fresh, engine="pdfium")
        assert fresh.counters.hits == 0  # neither the document nor any page of pypdf's
        assert fresh.counters.misses == 1 + invoice.page_count
        again = PageCache(tmp_path / "cache")
        extract_invoice(PDF, cache=again, engine="pdfium")
        assert (again.counters.hits, again.counters.misses) == (1, 0)

    def test_cache_keys_carry_the_engine_library_version(self, monkeypatch):
        from cc_perf_dagster.core import pdf
        from cc_perf_dagster.core.extract import page_key

        before = page_key("h", "pypdf")
        monkeypatch.setattr(pdf.PypdfEngine, "version", "0.0-other")
        assert page_key("h", "pypdf") != before

    def test_one_changed_page_reparses_only_that_page(self, tmp_path):
        spec = ci004848705()
        original = tmp_path / "a.pdf"
        write_document(original, spec, write_truth=False)
        changed = tmp_path / "b.pdf"
        write_document(
            changed, dataclasses.replace(spec, misprints=(Misprint(0, "extended_price", "38.41"),)), write_truth=False
        )
        cache = PageCache(tmp_path / "cache")
        first = extract_invoice(original, cache=cache)
        fresh = PageCache(tmp_path / "cache")
        second = extract_invoice(changed, cache=fresh)
        # one document miss, then every page a hit but page 1
        assert fresh.counters.misses == 2
        assert fresh.counters.l2_hits == first.page_count - 1
        assert str(second.line_items[0].extended_price) == "38.41"
        assert second.line_items[1:] == first.line_items[1:]


class TestCachedDocumentsAreRechecked:
    def _forge(self, cache: PageCache, pdf) -> None:
        """Replace the cached document by one whose first line costs 2240.00, still claiming consistency 1.0."""
        from cc_perf_dagster.core.extract import document_key
        from cc_perf_dagster.core.pdf import file_sha256

        key = document_key(file_sha256(pdf))
        record = cache.get(key)
        record["line_items"][0]["unit_price"] = "2240.00"
        record["consistency_score"] = 1.0
        record["warnings"] = []
        cache.put(key, record)  # signed with the real key: as if the key had leaked

    def test_tampered_cached_document_is_not_consistent(self, tmp_path):
        pdf = TEST_INVOICES / "CI004731586.pdf"
        honest = extract_invoice(pdf, cache=PageCache(tmp_path / "cache"))
        assert honest.consistency_score == 1.0
        self._forge(PageCache(tmp_path / "cache"), pdf)
        fresh = PageCache(tmp_path / "cache")
        served = extract_invoice(pdf, cache=fresh)
        assert fresh.counters.l2_hits == 1  # it did come from the cache
        assert str(served.line_items[0].unit_price) == "2240.00"
        assert served.consistency_score < 1.0
        assert any("2240.00" in w for w in served.warnings)
        assert any("stored self-check figures did not hold" in w for w in served.warnings)

    def test_faithful_cached_document_is_unchanged(self, tmp_path):
        first = extract_invoice(PDF, cache=PageCache(tmp_path / "cache"))
        assert extract_invoice(PDF, cache=PageCache(tmp_path / "cache")) == first

    def test_undecodable_cached_document_is_extracted_again(self, tmp_path):
        from cc_perf_dagster.core.extract import document_key

        first = extract_invoice(PDF, cache=PageCache(tmp_path / "cache"))
        PageCache(tmp_path / "cache").put(document_key(first.sha256), {"invoice": {"line_items": "x"}})
        assert extract_invoice(PDF, cache=PageCache(tmp_path / "cache")) == first


def shared_stream_pdf(path, pages: int, body: bytes):
    """A PDF whose pages all draw one shared content stream (a tiny file, costly to read naively)."""
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    stream = StreamObject()
    stream.set_data(body)
    shared = writer._add_object(stream.flate_encode())
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        page[NameObject("/Contents")] = shared
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


class TestBoundedCost:
    def test_identical_page_content_is_parsed_once_per_document(self, tmp_path):
        from cc_perf_dagster.core.extract import PageReader
        from cc_perf_dagster.core.pdf import PdfDocument

        pdf = shared_stream_pdf(tmp_path / "s.pdf", 5, b"BT /F1 10 Tf 100 700 Td (Creative Co-op CS003837319) Tj ET")
        with PdfDocument(pdf) as doc:
            reader = PageReader(doc)
            results = [reader.read(page) for page in doc.pages()]
        assert [hit for _, hit in results] == [False, True, True, True, True]
        assert [r.page for r, _ in results] == [1, 2, 3, 4, 5]
        assert len({r.content_hash for r, _ in results}) == 1

    def test_a_page_with_too_many_text_operators_is_refused_before_parsing(self, tmp_path):
        from cc_perf_dagster.core.errors import DocumentTooLargeError

        pdf = shared_stream_pdf(tmp_path / "t.pdf", 20, b"BT /F1 1 Tf " + b"(a) Tj " * 100_000 + b"ET")
        with pytest.raises(DocumentTooLargeError, match="more than 50000 text operators") as caught:
            extract_invoice(pdf)
        assert caught.value.page == 1

    def test_the_time_limit_per_document_names_itself(self, tmp_path):
        from cc_perf_dagster.core.errors import DocumentTooLargeError
        from cc_perf_dagster.core.pdf import Limits

        with pytest.raises(DocumentTooLargeError, match="more than 0 s, the limit per document"):
            extract_invoice(TEST_INVOICES / "CS003837319.pdf", limits=Limits(max_seconds=0))


class TestEngines:
    def test_an_unknown_engine_is_refused_by_name(self):
        from cc_perf_dagster.core.pdf import get_engine

        with pytest.raises(ValueError, match=r"unknown text engine 'mupdf'; choose one of pypdf, pdfium"):
            get_engine("mupdf")

    def test_pdfium_without_pypdfium2_says_what_to_install(self, monkeypatch):
        import sys

        from cc_perf_dagster.core.errors import EngineUnavailableError
        from cc_perf_dagster.core.pdf import get_engine

        monkeypatch.setitem(sys.modules, "pypdfium2", None)  # as if it were not installed
        monkeypatch.setitem(sys.modules, "pypdfium2_raw", None)  # (its raw bindings come with it)
        with pytest.raises(EngineUnavailableError, match=r"needs pypdfium2.*cc-perf-dagster\[pdfium\]") as info:
            get_engine("pdfium")
        assert isinstance(info.value, ImportError)

    def test_engine_differences_names_the_field_and_the_page(self):
        from cc_perf_dagster.core.extract import engine_differences
        from cc_perf_dagster.core.pdf import PypdfEngine

        class Misreading(PypdfEngine):
            """pypdf, but every "38.40" reads "38.41"."""

            name = "misreading"

            def open(self, stream, *, file, limits=None):
                doc = super().open(stream, file=file, limits=limits)
                runs = doc.runs

                def misread(index):
                    return [dataclasses.replace(r, text="38.41") if r.text == "38.40" else r for r in runs(index)]

                doc.runs = misread
                return doc

        differences = engine_differences(TEST_INVOICES / "CI004848705.pdf", engines=("pypdf", Misreading()))
        assert differences == ["item 7 (DA4315, page 1) extended_price: pypdf '38.40', misreading '38.41'"]


class TestRecord:
    def test_the_invoice_record_is_lossless(self):
        from dataclasses import replace as changed

        from cc_perf_dagster.core.models import Totals

        invoice = extract_invoice(TEST_INVOICES / "CI004731586.pdf")  # rows without Your Price
        assert any(not item.unit_price_printed for item in invoice.line_items)
        taxed = changed(invoice, totals=changed(invoice.totals or Totals(), tax=invoice.line_items[0].list_price))
        for document in (invoice, taxed):
            assert invoice_from_record(invoice_to_record(document)) == document

    def test_records_of_the_earlier_nested_shape_still_read(self):
        invoice = extract_invoice(TEST_INVOICES / "CI004731586.pdf")
        record = invoice_to_record(invoice)
        nested = {
            "invoice": {k: v for k, v in record.items() if k != "page_hashes"},
            "page_hashes": record["page_hashes"],
            "tax": None,
            "unit_price_printed": [item["unit_price_printed"] for item in record["line_items"]],
        }
        for item in nested["invoice"]["line_items"]:
            del item["unit_price_printed"]
        assert invoice_from_record(nested) == invoice
