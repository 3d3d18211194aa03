"""Open a PDF safely, stream its pages, hash them, and read positioned text runs.

The text engine sits behind a two-method interface (:class:`TextEngine` opens a
document; :class:`EngineDocument` gives a page's content hash and its text runs), so the
layout and the parser never see which library read the page. Two engines exist:
``pypdf`` (the default, :class:`PypdfEngine`) and ``pdfium``
(:class:`~cc_perf_dagster.core.pdfium.PdfiumEngine`, with the optional ``pypdfium2``);
:func:`get_engine` turns a name into one.

The pypdf engine and its page content hash live in :mod:`cc_perf_dagster.core.pypdf_engine`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from cc_perf_dagster.core.errors import (
    DamagedPdfError,
    DocumentTooLargeError,
    EmptyFileError,
    NotAPdfError,
)
from cc_perf_dagster.core.models import TextRun

log = logging.getLogger(__name__)

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on what the extractor agrees to open.

    Attributes:
        max_bytes: Largest file size accepted, in bytes.
        max_pages: Largest page count accepted.
        max_text_operators: Most text-showing operators on one page (forms included); a
            page over it is refused before its operators are parsed. Invoice pages hold a
            few hundred, a few thousand when drawn one glyph per operator.
        max_seconds: Longest time reading one document may take (checked between pages;
            a page's own cost is bounded by ``max_text_operators``).
    """

    max_bytes: int = 100 * 1024 * 1024
    max_pages: int = 5_000
    max_text_operators: int = 50_000
    max_seconds: float = 120.0


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class EngineDocument(Protocol):
    """An open document as a text engine sees it."""

    page_count: int

    def content_hash(self, index: int) -> str:
        """Stable content hash of page ``index`` (0-based); see the module docstring."""
        ...

    def runs(self, index: int) -> list[TextRun]:
        """Positioned text runs of page ``index`` (0-based), in any order."""
        ...

    def release(self, index: int) -> None:
        """Forget whatever was cached while reading page ``index``."""
        ...

    def invisible_text(self, index: int) -> bool:
        """Whether the last :meth:`runs` of page ``index`` read its invisible text.

        Text drawn invisible (render mode 3 or 7) is read only on a page that shows none: a
        scanner's OCR layer over the page's image
        (:func:`~cc_perf_dagster.core.content_stream.visible_words`).
        """
        ...


class TextEngine(Protocol):
    """Opens documents for :class:`PdfDocument`. One engine instance may open many.

    Attributes:
        name: The engine's name, as settings and the command line spell it.
        version: The version of the library behind it; cache keys include name and version,
            so one engine's (or one release's) page results are never served for another's.
    """

    name: str
    version: str

    def open(self, stream: BinaryIO, *, file: str, limits: Limits | None = None) -> EngineDocument:
        """Open a PDF from a seekable binary stream; raise an ``InvalidDocumentError``."""
        ...


@functools.cache
def library_version(distribution: str) -> str:
    """The installed release of a distribution, looked up once per process."""
    import importlib.metadata  # on first use: a command that reads no cache never needs it

    return importlib.metadata.version(distribution)


DEFAULT_ENGINE = "pypdf"
# Every engine by name; the value is "module:class", imported only when asked for.
ENGINES: dict[str, str] = {
    "pypdf": "cc_perf_dagster.core.pypdf_engine:PypdfEngine",
    "pdfium": "cc_perf_dagster.core.pdfium:PdfiumEngine",
}


def get_engine(engine: str | TextEngine | None = None) -> TextEngine:
    """The text engine of a name (``"pypdf"``, ``"pdfium"``); an engine is returned as is.

    Raises:
        ValueError: No engine has that name.
        EngineUnavailableError: The engine's library is not installed (for ``pdfium``:
            ``pip install 'cc-perf-dagster[pdfium]'``).

    Example:
        >>> get_engine("pypdf").name
        'pypdf'
    """
    if engine is None:
        engine = DEFAULT_ENGINE
    if not isinstance(engine, str):
        return engine
    target = ENGINES.get(engine)
    if target is None:
        raise ValueError(f"unknown text engine {engine!r}; choose one of {', '.join(ENGINES)}")
    module, _, cls = target.partition(":")
    import importlib

    return getattr(importlib.import_module(module), cls)()


def check_file(path: Path, limits: Limits, file: str) -> None:
    """Refuse what is not a PDF file within the limits, from its size, head and tail alone."""
    size = path.stat().st_size  # FileNotFoundError propagates as is
    if path.is_dir():
        raise NotAPdfError("not a PDF file: it is a directory", file=file)
    if not path.is_file():
        raise NotAPdfError("not a PDF file: not a regular file", file=file)
    if size == 0:
        raise EmptyFileError("empty file (0 bytes)", file=file)
    if size > limits.max_bytes:
        raise DocumentTooLargeError(f"too large: {size} bytes, the limit is {limits.max_bytes}", file=file)
    with open(path, "rb") as fh:
        head = fh.read(1024)
        fh.seek(max(0, size - 2048))
        tail = fh.read()
    if b"%PDF-" not in head:
        raise NotAPdfError("not a PDF (no %PDF- header)", file=file)
    if b"%%EOF" not in tail:
        raise DamagedPdfError("truncated or damaged PDF (no %EOF marker at the end)", file=file)


def declared_page_count(
    path: str | os.PathLike[str],
    *,
    limits: Limits | None = None,
    engine: str | TextEngine | None = None,
    file: str | None = None,
) -> int | None:
    """The page count a PDF declares (its page tree's ``/Count``), read without loading its pages.

    The file passes the same checks as in :class:`PdfDocument` (size, header, end marker, its
    structure, decryption, the page limit); the pages themselves are not reached, so a page tree
    that hides pages shows only when the document is read (fewer pages read than declared is a
    refusal, :mod:`cc_perf_dagster.core.bookability`). ``None`` when the engine has no such
    cheap count (open a :class:`PdfDocument` instead).

    Raises:
        InvalidDocumentError: The file is refused (damaged, encrypted, too large, no pages).
    """
    counter = getattr(get_engine(engine), "declared_pages", None)
    if counter is None:
        return None
    path, limits = Path(path), limits or Limits()
    file = file or path.name
    check_file(path, limits, file)
    with open(path, "rb") as fh:
        count = counter(fh, file=file)
    if count > limits.max_pages:
        raise DocumentTooLargeError(f"too large: {count} pages, the limit is {limits.max_pages}", file=file)
    if count == 0:
        raise DamagedPdfError("the PDF has no pages", file=file)
    return count


def engine_tag(engine: str | TextEngine | None = None) -> str:
    """``name-version`` of an engine (default: pypdf), the engine's part of every cache key.

    Example:
        >>> engine_tag("pypdf").startswith("pypdf-")
        True
    """
    engine = get_engine(engine)
    return f"{engine.name}-{engine.version}"


class PdfDocument:
    """A PDF opened for extraction: validated, page-streamed, hashable.

    The file stays open (pypdf reads objects lazily from it) until :meth:`close`, or the
    end of a ``with`` block. Pages are read one at a time and their decoded content is
    released afterwards, so memory does not grow with the page count. ``engine`` is a
    :class:`TextEngine` or its name (default ``"pypdf"``); :attr:`engine` is the one in use.

    Example:
        >>> with PdfDocument("CS003837319.pdf") as doc:          # doctest: +SKIP
        ...     for index in range(doc.page_count):
        ...         runs = doc.runs(index)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        limits: Limits | None = None,
        engine: str | TextEngine | None = None,
        file: str | None = None,
        sha256: str | None = None,
    ):
        self.path = Path(path)
        self.file = file or self.path.name
        self.limits = limits or Limits()
        self._fh: BinaryIO | None = None
        self._sha256 = sha256
        self.engine = get_engine(engine)
        self._doc: EngineDocument | None = None
        self._check_file()
        self._fh = open(self.path, "rb")
        try:
            self._doc = self.engine.open(self._fh, file=self.file, limits=self.limits)
            self.page_count = self._doc.page_count
            if self.page_count > self.limits.max_pages:
                raise DocumentTooLargeError(
                    f"too large: {self.page_count} pages, the limit is {self.limits.max_pages}", file=self.file
                )
            if self.page_count == 0:
                raise DamagedPdfError("the PDF has no pages", file=self.file)
        except BaseException:
            self.close()
            raise

    def _check_file(self) -> None:
        check_file(self.path, self.limits, self.file)

    @property
    def sha256(self) -> str:
        """Hex sha256 of the whole file (computed once, streaming)."""
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        return self._sha256

    def content_hash(self, page: int) -> str:
        """Content hash of a 1-based page number."""
        return self._doc.content_hash(page - 1)

    def runs(self, page: int) -> list[TextRun]:
        """Positioned text runs of a 1-based page number."""
        return self._doc.runs(page - 1)

    def release(self, page: int) -> None:
        """Drop what reading a 1-based page cached."""
        self._doc.release(page - 1)

    def invisible_text(self, page: int) -> bool:
        """Whether the last :meth:`runs` of a 1-based page read its invisible text (an OCR layer)."""
        return self._doc.invisible_text(page - 1)

    def draws_nothing(self, page: int) -> bool:
        """Whether a 1-based page is blank: it paints nothing at all (:mod:`~cc_perf_dagster.core.blank_page`).

        ``False`` where the engine cannot tell (an engine may leave ``draws_nothing`` out).
        """
        check = getattr(self._doc, "draws_nothing", None)
        return check is not None and bool(check(page - 1))

    @property
    def declared_page_count(self) -> int | None:
        """The page count the file declares (its page tree's ``/Count``), where the engine reads it.

        It differs from :attr:`page_count` (the pages that can be reached) when the page tree
        is damaged, e.g. when two page objects were merged into one.
        """
        return getattr(self._doc, "declared_page_count", None)

    def pages(self) -> Iterator[int]:
        """The 1-based page numbers, in order."""
        return iter(range(1, self.page_count + 1))

    def close(self) -> None:
        """Close the engine's document (where it holds one) and the underlying file."""
        closer = getattr(self._doc, "close", None)
        if closer is not None:
            self._doc = None
            closer()
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> PdfDocument:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def __getattr__(name: str) -> object:
    # The pypdf engine lives in its own module (which imports this one); it stays importable
    # from here, where callers have always found it.
    if name == "PypdfEngine":
        from cc_perf_dagster.core.pypdf_engine import PypdfEngine

        return PypdfEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
