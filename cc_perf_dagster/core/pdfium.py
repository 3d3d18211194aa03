r"""The PDFium text engine: PDFium (through ``pypdfium2``) places the glyphs, the rest is shared.

Install it with ``pip install 'cc-perf-dagster[pdfium]'`` and choose it by name (``--engine
pdfium``, ``ExtractionSettings(engine="pdfium")``). It reads the same words as the default
pypdf engine and hands them to the same code: the raw word tuples of
:mod:`~cc_perf_dagster.core.content_stream` (start and end of the baseline in page space, the
text direction, the "up" sign and the font height), then
:func:`~cc_perf_dagster.core.upright.upright_runs`, so rotated pages are turned and
vertical stamps dropped the same way, and :func:`normalize_glyph_text` unfolds ligatures.

How PDFium's characters become words, one loop over a page's characters, is told in
:mod:`~cc_perf_dagster.core.pdfium_words` (with a C build of the same loop).

A document whose default view hides a layer (optional content), a page with filled-in form
fields and a page that uses a Type 3 font are read by the pypdf interpreter
(:mod:`~cc_perf_dagster.core.optional_content`, :mod:`~cc_perf_dagster.core.widgets`): PDFium's
text API does not say which layer a glyph is in, its text page leaves form fields out, and it
leaves out Type 3 text drawn at a quarter turn (a page turned by ``/Rotate``); so is a page
where PDFium gives a form's ``/ActualText`` span in the form's own space
(:class:`~cc_perf_dagster.core.pdfium_words.OutsidePageSpace`); so is every page of a file whose
cross-reference table PDFium had to rebuild (its repair may resolve objects otherwise than the
structure that was checked: 64 bytes slipped into a font's width array of a Chromium print read
right with pypdf and as ``Wood`` -> ``W ood`` throughout with PDFium), and a page with a font
stream one byte short of its ``/Length`` (others damaged refuse the page in both engines).
Content hash, page count, encryption and the text-operator limit are the pypdf engine's, from
the same objects (:mod:`~cc_perf_dagster.core.pdfium_structure`: read without pypdf where the
file is well formed, by pypdf elsewhere): a page hashes the same in both
engines, damaged streams are found the same way, and the cache keeps the engines apart
through the engine's name and version in every key (:func:`~cc_perf_dagster.core.pdf.engine_tag`).
PDFium is not thread-safe: every call into it holds one process-wide lock.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, BinaryIO

from cc_perf_dagster.core.errors import DamagedPdfError, EncryptedPdfError, EngineUnavailableError
from cc_perf_dagster.core.models import TextRun
from cc_perf_dagster.core.page_box import within
from cc_perf_dagster.core.pdf import EngineDocument, Limits, library_version
from cc_perf_dagster.core.pdf_objects import ObjectReader
from cc_perf_dagster.core.pdf_values import Unsupported
from cc_perf_dagster.core.pdfium_structure import Structure, page_tree_count
from cc_perf_dagster.core.pdfium_words import OutsidePageSpace, page_words
from cc_perf_dagster.core.upright import upright_runs

_LOCK = threading.RLock()


# PDFium's error codes as pypdfium2 words them (FPDF_GetLastError).
_ERRORS = {
    1: "Unknown error",
    2: "File access error",
    3: "Data format error",
    4: "Incorrect password error",
    5: "Unsupported security scheme error",
    6: "Page not found or content error",
}


def _raw() -> Any:
    """PDFium's raw bindings (``pypdfium2_raw``, public), the library initialised once per process.

    Only the raw bindings: the engine makes a handful of calls per page, and importing
    pypdfium2's object helpers too took some 16 ms of a short command's start.
    """
    try:
        import pypdfium2_raw as raw
    except ImportError as exc:
        raise EngineUnavailableError(
            "the pdfium text engine needs pypdfium2, which is not installed: "
            "pip install 'cc-perf-dagster[pdfium]' (or choose the pypdf engine)"
        ) from exc
    _initialise(raw)
    return raw


@functools.cache
def _initialise(raw: Any) -> None:
    """Initialise PDFium as pypdfium2 does; PDFium ignores a second call (pypdfium2 imported too)."""
    with _LOCK:
        config = raw.FPDF_LIBRARY_CONFIG(version=2, m_pUserFontPaths=None, m_pIsolate=None, m_v8EmbedderSlot=0)
        raw.FPDF_InitLibraryWithConfig(config)


class PdfiumEngine:
    """Text through PDFium (``pypdfium2``); hashes, page count and errors as the pypdf engine.

    Raises:
        EngineUnavailableError: On creation, when ``pypdfium2`` is not installed.
    """

    name = "pdfium"

    def __init__(self) -> None:
        _raw()

    @property
    def version(self) -> str:
        """The installed pypdfium2 release (each release pins one PDFium build)."""
        return library_version("pypdfium2")

    def declared_pages(self, stream: BinaryIO, *, file: str) -> int:
        """The page tree's ``/Count``, as the pypdf engine reads it (from the same objects)."""
        try:  # the cross-references and the catalog only, as pypdf's count (no page is reached)
            count = page_tree_count(ObjectReader(stream.read()).trailer.get("/Root"))
        except Unsupported:
            count = None
        if count is None:
            from cc_perf_dagster.core.pypdf_engine import PypdfEngine

            stream.seek(0)
            return PypdfEngine().declared_pages(stream, file=file)
        return count

    def open(self, stream: BinaryIO, *, file: str, limits: Limits | None = None) -> EngineDocument:
        """Open ``stream`` for its structure (hashes, checks) and with PDFium (text); see ``TextEngine``."""
        return _PdfiumDocument(stream, file=file, limits=limits or Limits())


class _PdfiumDocument:
    def __init__(self, stream: BinaryIO, *, file: str, limits: Limits):
        self._file = file
        stream.seek(0)
        # From memory: read through the stream, PDFium would call back into Python for every
        # block it reads (about 6% of the engine's time on an invoice).
        data = stream.read()
        self._structure = Structure(data, stream, file=file, limits=limits)
        self.page_count = self._structure.page_count
        raw = self._raw = _raw()
        self._data = data  # PDFium reads it in place while the document is open
        with _LOCK:
            self._pdf = raw.FPDF_LoadMemDocument64(data, len(data), None)
            pages = raw.FPDF_GetPageCount(self._pdf)
            if pages < 1:
                code = raw.FPDF_GetLastError()
                raw.FPDF_CloseDocument(self._pdf)
                if code == raw.FPDF_ERR_PASSWORD:
                    raise EncryptedPdfError("encrypted PDF, a password is required to open it", file=file)
                reason = f"Failed to load document (PDFium: {_ERRORS.get(code, f'error {code}')})."
                raise DamagedPdfError(f"damaged PDF, PDFium cannot read it ({reason})", file=file)
            # The page last read stays open until the next is: PDFium keeps a font only while a
            # page uses it, and loading the fonts again was some 10% of a page's time.
            self._kept: Any = None
            self._pdfium_pages = pages
            # PDFium rebuilt a broken cross-reference table its own way: its objects may not be
            # those of the structure that was checked and hashed, so pypdf's interpreter reads.
            self._rebuilt = not raw.FPDF_DocumentHasValidCrossReferenceTable(self._pdf)
            self._invisible: set[int] = set()  # pages read from their invisible text
            self._interpreted: set[int] = set()  # pages read by the pypdf interpreter

    def content_hash(self, index: int) -> str:
        return self._structure.content_hash(index)

    @property
    def declared_page_count(self) -> int | None:
        """The page tree's ``/Count`` (read as the pypdf engine reads it)."""
        return self._structure.declared_page_count

    def runs(self, index: int) -> list[TextRun]:
        if self._rebuilt or self._structure.needs_interpreter(index):
            # PDFium's text page says nothing of layers, leaves form fields out and Type 3 text
            # at a quarter turn: a document that hides a layer, or a page with filled-in fields
            # or a Type 3 font, is read by the interpreter that reads them (see the docstring).
            return self._interpret(index)
        try:
            runs = self._read(index)
        except OutsidePageSpace:  # see pdfium_words._shape
            return self._interpret(index)
        self._interpreted.discard(index)
        return runs

    def _interpret(self, index: int) -> list[TextRun]:
        self._interpreted.add(index)
        return self._structure.runs(index)

    def _read(self, index: int) -> list[TextRun]:
        self._structure.check_content(index)
        media, shown = self._structure.boxes(index)
        if index >= self._pdfium_pages:
            raise DamagedPdfError("damaged page tree, PDFium cannot reach this page", file=self._file, page=index + 1)
        raw = self._raw
        with _LOCK:
            page = raw.FPDF_LoadPage(self._pdf, index)
            if self._kept is not None:
                raw.FPDF_ClosePage(self._kept)
            self._kept = page or None
            textpage = raw.FPDFText_LoadPage(page) if page else None
            if not textpage:
                reason = f"Failed to load {'text page' if page else 'page'}."
                raise DamagedPdfError(f"cannot read the page's text ({reason})", file=self._file, page=index + 1)
            try:
                words, invisible = page_words(textpage, raw)
            finally:
                raw.FPDFText_ClosePage(textpage)
        if invisible:
            self._invisible.add(index)
        else:
            self._invisible.discard(index)
        return upright_runs(within(words, shown), media)

    def release(self, index: int) -> None:
        self._structure.release(index)

    def draws_nothing(self, index: int) -> bool:
        """Whether page ``index`` is blank (told by pypdf's operators, as in the pypdf engine)."""
        return self._structure.draws_nothing(index)

    def invisible_text(self, index: int) -> bool:
        if index in self._interpreted:
            return self._structure.invisible_text(index)
        return index in self._invisible

    def close(self) -> None:
        """Close the PDFium document (the file itself belongs to the caller)."""
        with _LOCK:
            if self._kept is not None:
                self._raw.FPDF_ClosePage(self._kept)
                self._kept = None
            if self._pdf is not None:
                self._raw.FPDF_CloseDocument(self._pdf)
                self._pdf = None
