"""Shared fixtures: where the committed test invoices are."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_INVOICES = REPO / "test_invoices"
BAD_INVOICES = TEST_INVOICES / "bad"
# The same documents written by other PDF producers (`make producers`), one folder per producer.
PRODUCER_INVOICES = TEST_INVOICES / "producers"

# The JSON schema of `cc-perf extract` (the issue names these keys exactly).
DOCUMENT_KEYS = (
    "file", "sha256", "document_type", "vendor", "invoice_number", "invoice_date", "page_count",
    "consistency_score", "warnings", "line_items",
)  # fmt: skip
ITEM_KEYS = (
    "page", "product_code", "upc", "description", "qty_ordered", "qty_allocated", "qty_shipped", "qty_backordered",
    "unit", "list_price", "unit_price", "extended_price", "tariff_surcharge", "quantity",
)  # fmt: skip

DOCUMENT_FIELDS = (*(k for k in DOCUMENT_KEYS if k != "line_items"), "totals")


def field_differences(expected: dict, actual: dict) -> tuple[int, list[str]]:
    """Count compared fields and list every difference as a readable line."""
    compared, differences = 0, []
    for name in DOCUMENT_FIELDS:
        compared += 1
        if expected.get(name) != actual.get(name):
            differences.append(f"{name}: expected {expected.get(name)!r}, got {actual.get(name)!r}")
    want, got = expected["line_items"], actual["line_items"]
    if len(want) != len(got):
        differences.append(f"line_items: expected {len(want)} items, got {len(got)}")
    for index, item in enumerate(want):
        other = got[index] if index < len(got) else {}
        for name, value in item.items():
            compared += 1
            if other.get(name) != value:
                differences.append(
                    f"item {index} ({item['product_code']}) {name}: expected {value!r}, got {other.get(name)!r}"
                )
    return compared, differences


# Every text engine; the dev extras install pypdfium2, so both are always tested.
ENGINE_NAMES = ("pypdf", "pdfium")


@pytest.fixture(params=ENGINE_NAMES)
def engine(request) -> str:
    """Each text engine's name in turn."""
    return request.param


@contextlib.contextmanager
def python_word_loop() -> Iterator[None]:
    """The pdfium engine with its word loop in Python, as where the C loop was not built."""
    from cc_perf_dagster.core import pdfium_words

    with mock.patch.object(pdfium_words, "_glyph_words", None):
        yield


def page_runs(path: Path, engine: str, index: int = 1) -> list:
    """Page ``index``'s runs; with pdfium, read by both word loops (C and Python), which must agree."""
    from cc_perf_dagster.core.pdf import PdfDocument

    with PdfDocument(path, engine=engine) as doc:
        runs = doc.runs(index)
    if engine == "pdfium":
        with python_word_loop(), PdfDocument(path, engine=engine) as doc:
            assert doc.runs(index) == runs, f"{path.name} page {index}: the C and Python word loops disagree"
    return runs


def good_invoices() -> list[Path]:
    """Every committed fixture PDF that has ground truth beside it (top level only, not producers/)."""
    return sorted(p for p in TEST_INVOICES.glob("*.pdf") if p.with_suffix(".expected.json").exists())


def producer_invoices() -> list[Path]:
    """Every PDF of the producer corpus (``test_invoices/producers/<producer>/``) that has ground truth."""
    return sorted(p for p in PRODUCER_INVOICES.glob("*/*.pdf") if p.with_suffix(".expected.json").exists())


def corrupt_content_stream(src: Path, dst: Path, *, page: int) -> Path:
    """Copy ``src`` to ``dst`` with the 1-based ``page``'s content replaced by corrupt Flate data.

    The file stays well formed (header, cross-reference table, %%EOF, every other page intact),
    so only reading that page's text finds the damage.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, StreamObject

    writer = PdfWriter(clone_from=PdfReader(src))
    stream = StreamObject()
    stream.set_data(b"x\x9c\xde\xad\xbe\xef: not a deflate stream")  # a zlib header, then garbage
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    writer.pages[page - 1][NameObject("/Contents")] = writer._add_object(stream)
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def expected_for(pdf: Path) -> dict:
    return json.loads(pdf.with_suffix(".expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def test_invoices() -> Path:
    return TEST_INVOICES


# --- the same document with a stamp drawn over every page ---------------------------------------


def drawn_over(src: Path, dst: Path, draw) -> Path:
    """Copy ``src`` to ``dst`` with ``draw(canvas, mediabox)`` drawn over every page (on top of its content)."""
    import io

    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    writer = PdfWriter(clone_from=PdfReader(src))
    for page in writer.pages:
        buffer = io.BytesIO()
        c = canvas.Canvas(buffer, pagesize=(float(page.mediabox.width), float(page.mediabox.height)), invariant=1)
        draw(c, page.mediabox)
        c.save()
        page.merge_page(PdfReader(buffer).pages[0])
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def stamped(src: Path, dst: Path, *, text: str, angle: float, size: float, gray: float = 0.85) -> Path:
    """Copy ``src`` to ``dst`` with ``text`` drawn over the middle of every page, as a watermark.

    The stamp is Helvetica Bold at ``size`` points, turned by ``angle`` degrees, in ``gray``,
    drawn after the page's own content (on top), as accounting systems stamp "COPY" or "PAID".
    """

    def stamp(c, box) -> None:
        c.setFillGray(gray)
        c.setFont("Helvetica-Bold", size)
        c.translate(float(box.left) + float(box.width) / 2, float(box.bottom) + float(box.height) / 2)
        c.rotate(angle)
        c.drawCentredString(0, 0, text)

    return drawn_over(src, dst, stamp)


def invisible_copy(src: Path, dst: Path) -> Path:
    """Copy ``src`` to ``dst`` with every page's text drawn invisible (render mode 3), as an OCR layer is."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ContentStream

    writer = PdfWriter(clone_from=PdfReader(src))
    for page in writer.pages:
        content = ContentStream(None, writer)
        content.set_data(b"3 Tr\n" + page.get_contents().get_data())
        page.replace_contents(content)
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def without_unicode_maps(src: Path, dst: Path) -> Path:
    """Copy ``src`` to ``dst`` with every font's ``/ToUnicode`` map removed.

    A subset font numbers its glyphs in drawing order: without its map, its codes say nothing
    of its letters, as in the PDFs of printer drivers that leave the map out.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    writer = PdfWriter(clone_from=PdfReader(src))
    for page in writer.pages:
        for font in page["/Resources"].get_object().get("/Font", {}).values():
            font.get_object().pop(NameObject("/ToUnicode"), None)
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def hidden_overlay(src: Path, dst: Path, *, text: str) -> Path:
    """Copy ``src`` to ``dst`` with invisible text (render mode 3) over the table of every page.

    Nothing shows on the page; a reader that read it anyway would find rows the page does not print.
    """

    def rows(c, _box) -> None:
        hidden = c.beginText()
        hidden.setTextRenderMode(3)
        hidden.setFont("Helvetica", 7.5)
        for y in range(100, 700, 12):
            hidden.setTextOrigin(140, y)
            hidden.textOut(text)
        c.drawText(hidden)

    return drawn_over(src, dst, rows)


# --- documents recognised as Creative Co-op but read badly (never booked) ---------------------


def blank_page(src: Path, dst: Path, *, page: int) -> Path:
    """Copy ``src`` to ``dst`` with the 1-based ``page``'s content an empty stream (no text layer)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, StreamObject

    writer = PdfWriter(clone_from=PdfReader(src))
    writer.pages[page - 1][NameObject("/Contents")] = writer._add_object(StreamObject())
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def hide_page(src: Path, dst: Path, *, page: int) -> Path:
    """Copy ``src`` to ``dst`` with ``page`` unlinked from the page tree, whose ``/Count`` stays.

    What a damaged file whose page objects were merged looks like to a reader: fewer pages
    can be reached than the file (and the "Page N of M" footers) declare.
    """
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(src))
    del writer._root_object["/Pages"]["/Kids"][page - 1]
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def tableless_document(dst: Path) -> Path:
    """A Creative Co-op invoice (header, number, date, totals) whose table holds no line at all."""
    import dataclasses

    from cc_perf_dagster_tests.fixtures.generate import write_document
    from cc_perf_dagster_tests.fixtures.specs import ci004731586

    write_document(dst, dataclasses.replace(ci004731586(), items=()), write_truth=False)
    return dst


def unreconciled_document(dst: Path) -> Path:
    """CI004731586 with one extended price misprinted: 33 of 34 lines hold, the totals do not add up."""
    import dataclasses

    from cc_perf_dagster_tests.fixtures.generate import write_document
    from cc_perf_dagster_tests.fixtures.model import Misprint
    from cc_perf_dagster_tests.fixtures.specs import ci004731586

    spec = dataclasses.replace(ci004731586(), misprints=(Misprint(0, "extended_price", "99.99"),))
    write_document(dst, spec, write_truth=False)
    return dst


# --- the cluster profile on real services (Celery workers, PostgreSQL, Redis) ----------------------


@pytest.fixture
def cluster_env(tmp_path, monkeypatch):
    """The cluster profile's variables for a shared storage root in ``tmp_path`` (no service started)."""
    from cc_perf_dagster_tests.local_cluster import CACHE_KEY

    monkeypatch.setenv("CC_PERF_PROFILE", "cluster")
    monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "shared"))
    monkeypatch.setenv("CC_PERF_CACHE_KEY", CACHE_KEY)
    return tmp_path / "shared"


def require_cluster_services() -> None:
    """Skip with the reason where PostgreSQL, Redis or the cluster extra is missing; under ``CI=true``, fail."""
    import os

    from cc_perf_dagster_tests.local_cluster import services_missing

    missing = services_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the cluster tests on real services: {missing}")
        pytest.skip(missing)


@pytest.fixture
def cluster(request, tmp_path, monkeypatch, cluster_env):
    """A fresh database, a Redis database of its own, two workers, their variables in this process.

    Yields the cluster (:class:`~cc_perf_dagster_tests.local_cluster.LocalCluster`) and an instance
    on its database; everything is removed afterwards. ``@pytest.mark.cluster_env(NAME=VALUE)``
    gives every process of the cluster more variables.
    """
    require_cluster_services()
    from dagster import DagsterInstance

    from cc_perf_dagster.instance import ensure_dagster_home
    from cc_perf_dagster_tests.local_cluster import local_cluster

    marker = request.node.get_closest_marker("cluster_env")
    with local_cluster(tmp_path, extra_env=dict(marker.kwargs) if marker else None) as running:
        for name, value in running.env.items():
            monkeypatch.setenv(name, value)
        home = ensure_dagster_home(tmp_path / "home", export=False, profile="cluster")
        with DagsterInstance.from_config(str(home)) as instance:
            yield running, instance


@pytest.fixture(scope="module")
def printed(request, tmp_path_factory):
    """``printed(number, style)``: a fixture document printed by the test module's ``PRODUCER``.

    Skips where the producer cannot print here, fails instead under ``CI=true``
    (:mod:`cc_perf_dagster_tests.fixtures.prints`).
    """
    from cc_perf_dagster_tests.fixtures.prints import Prints, require

    producer = request.module.PRODUCER
    require(producer.missing, producer.name)
    return Prints(tmp_path_factory.mktemp(producer.name), producer.render)


@pytest.fixture
def postgres_databases():
    """Fresh PostgreSQL databases made on demand (``make(name)`` gives a URL), dropped afterwards."""
    import secrets

    require_cluster_services()
    import psycopg2

    from cc_perf_dagster_tests.local_cluster import PG, admin_url

    admin = psycopg2.connect(admin_url())
    admin.autocommit = True
    made: list[str] = []

    def make() -> str:
        name = f"cc_perf_test_{secrets.token_hex(4)}"
        admin.cursor().execute(f"CREATE DATABASE {name}")
        made.append(name)
        return f"{PG}/{name}"

    yield make
    for name in made:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()
